import Foundation

/// A real git repository in a temporary folder, used as a pipeline material.
struct GitRepository {
    let path: URL
    var url: String { "file://\(path.path)" }

    static func create(in directory: URL, name: String = "material") throws -> GitRepository {
        let path = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
        let repository = GitRepository(path: path)
        try repository.git(["init", "-q", "-b", "main"])
        try repository.git(["config", "user.email", "dev@example.com"])
        try repository.git(["config", "user.name", "Relevo Test"])
        return repository
    }

    /// Writes `files` and commits them; returns the new commit's hash.
    @discardableResult
    func commit(_ files: [String: String], message: String = "change") throws -> String {
        for (name, text) in files {
            let file = path.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        try git(["add", "-A"])
        try git(["commit", "-q", "-m", message])
        return try git(["rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @discardableResult
    func git(_ arguments: [String]) throws -> String {
        let result = try runProcess(URL(fileURLWithPath: "/usr/bin/git"), ["-C", path.path] + arguments)
        guard result.status == 0 else { throw TestSetupError("git \(arguments.joined(separator: " ")) failed: \(result.standardError)") }
        return result.standardOutput
    }
}
