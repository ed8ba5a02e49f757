import Foundation

/// Where a task runs: the job's directory, or a directory inside it named by the task's
/// `working_directory`. A task can never be pointed outside its job's directory.
enum TaskWorkingDirectory {
    /// The absolute directory for `relative` under `jobDirectory`.
    ///
    /// Refused: an absolute path, a path whose `..` climbs above the job's directory, and a
    /// path that leaves it through a symbolic link.
    static func resolve(_ relative: String?, in jobDirectory: String, operation: String) throws(TaskError) -> String {
        guard let relative, !relative.isEmpty, relative != "." else { return jobDirectory }
        let refusal = TaskError(
            .workingDirectoryOutsideJob, operation: operation,
            message: "working directory '\(relative)' is outside the job's directory \(jobDirectory)")
        guard !relative.hasPrefix("/") else { throw refusal }
        var components: [Substring] = []
        for component in relative.split(separator: "/") {
            switch component {
            case ".": continue
            case "..":
                guard !components.isEmpty else { throw refusal }
                components.removeLast()
            default: components.append(component)
            }
        }
        let base = jobDirectory.hasSuffix("/") ? String(jobDirectory.dropLast()) : jobDirectory
        let candidate = ([base] + components.map(String.init)).joined(separator: "/")
        // Lexically inside; now make sure no symbolic link on the way leads out. A missing
        // directory is left for the process runner to report as missing.
        guard FileManager.default.fileExists(atPath: candidate) else { return candidate }
        let realBase = URL(fileURLWithPath: base).resolvingSymlinksInPath().path
        let realCandidate = URL(fileURLWithPath: candidate).resolvingSymlinksInPath().path
        guard realCandidate == realBase || realCandidate.hasPrefix(realBase + "/") else { throw refusal }
        return candidate
    }
}
