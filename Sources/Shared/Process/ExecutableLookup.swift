import Glibc

/// Finds the file a ``ProcessSpec`` names, the way `execvp` would but with the spec's own `PATH`
/// and working directory, so that a missing program is reported before anything is spawned.
enum ExecutableLookup {
    /// The absolute path of the program to run.
    ///
    /// - Throws: ``ProcessError`` `programNotFound`, `notExecutable` or `workingDirectoryMissing`.
    static func resolve(_ spec: ProcessSpec) throws(ProcessError) -> String {
        let operation = "run \(spec.executable)"
        guard isDirectory(spec.workingDirectory) else {
            throw ProcessError(
                .workingDirectoryMissing, operation: operation,
                message: "cannot run '\(spec.executable)': working directory \(spec.workingDirectory) "
                    + "does not exist or is not a directory")
        }
        guard !spec.executable.isEmpty else {
            throw ProcessError(.programNotFound, operation: operation, message: "cannot run '': empty command")
        }
        if spec.executable.contains("/") {
            let path = absolute(spec.executable, in: spec.workingDirectory)
            switch check(path) {
            case .executable:
                return path
            case .missing:
                throw ProcessError(
                    .programNotFound, operation: operation,
                    message: "cannot run '\(spec.executable)': no such file \(path)")
            case .notExecutable:
                throw ProcessError(
                    .notExecutable, operation: operation,
                    message: "cannot run '\(spec.executable)': \(path) is not an executable file")
            }
        }
        guard let searchPath = spec.environment["PATH"] else {
            throw ProcessError(
                .programNotFound, operation: operation,
                message: "cannot run '\(spec.executable)': the environment has no PATH")
        }
        var unusable: String?
        for entry in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            // An empty entry means the current directory, as for execvp.
            let directory = entry.isEmpty ? spec.workingDirectory : absolute(String(entry), in: spec.workingDirectory)
            let candidate = directory.hasSuffix("/") ? directory + spec.executable : directory + "/" + spec.executable
            switch check(candidate) {
            case .executable: return candidate
            case .notExecutable: unusable = unusable ?? candidate
            case .missing: continue
            }
        }
        if let unusable {
            throw ProcessError(
                .notExecutable, operation: operation,
                message: "cannot run '\(spec.executable)': \(unusable) is not an executable file")
        }
        throw ProcessError(
            .programNotFound, operation: operation,
            message: "cannot run '\(spec.executable)': no such file in PATH \(searchPath)")
    }

    private enum FileCheck {
        case executable, notExecutable, missing
    }

    private static func check(_ path: String) -> FileCheck {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        guard info.st_mode & S_IFMT == S_IFREG, access(path, X_OK) == 0 else { return .notExecutable }
        return .executable
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    private static func absolute(_ path: String, in directory: String) -> String {
        if path.hasPrefix("/") { return path }
        return directory.hasSuffix("/") ? directory + path : directory + "/" + path
    }
}
