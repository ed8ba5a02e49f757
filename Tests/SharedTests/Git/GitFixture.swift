import Foundation
import Shared
import Testing

/// A bare "origin" repository in a temporary directory, an author's clone that pushes to it, and
/// a ``GitClient`` whose mirror cache lives beside them.
struct GitFixture {
    struct CommandFailed: Error, CustomStringConvertible {
        var description: String
    }

    let root: String
    /// The bare repository jobs check out from; its path is the material URL.
    let origin: String
    /// The working clone commits are made and pushed from.
    let author: String
    let client: GitClient

    var url: String { origin }

    static func make() async throws -> GitFixture {
        let root = try ProcessTestSupport.temporaryDirectory()
        let fixture = GitFixture(
            root: root, origin: root + "/origin.git", author: root + "/author",
            client: GitClient(cacheRoot: root + "/cache", environment: ["PATH": "/usr/bin:/bin"]))
        try await fixture.git(["init", "--quiet", "--bare", fixture.origin], in: root)
        try await fixture.git(["init", "--quiet", fixture.author], in: root)
        try await fixture.git(["remote", "add", "origin", fixture.origin], in: fixture.author)
        return fixture
    }

    /// Writes `files`, commits them and pushes to origin's `branch`; returns the new commit's hash.
    @discardableResult
    func commit(_ files: [String: String], message: String, branch: String = "master") async throws -> String {
        for (name, content) in files {
            let path = author + "/" + name
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: path, atomically: true, encoding: .utf8)
        }
        try await git(["add", "--all"], in: author)
        try await git(["commit", "--quiet", "-m", message], in: author)
        try await git(["push", "--quiet", "origin", "HEAD:refs/heads/\(branch)"], in: author)
        return try await git(["rev-parse", "HEAD"], in: author).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs git with a fixed identity and no outside configuration; returns stdout.
    @discardableResult
    func git(_ arguments: [String], in directory: String) async throws -> String {
        let environment = [
            "PATH": "/usr/bin:/bin", "HOME": root, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_AUTHOR_NAME": "Ada Lovelace", "GIT_AUTHOR_EMAIL": "ada@example.org",
            "GIT_COMMITTER_NAME": "Ada Lovelace", "GIT_COMMITTER_EMAIL": "ada@example.org",
            "GIT_AUTHOR_DATE": "2024-05-01T10:00:00Z", "GIT_COMMITTER_DATE": "2024-05-01T10:00:00Z",
        ]
        let spec = ProcessSpec(
            executable: "git", arguments: ["-c", "init.defaultBranch=master"] + arguments,
            environment: environment, workingDirectory: directory)
        let collected = await ProcessTestSupport.collect(try ProcessRunner().start(spec))
        guard collected.status.isSuccess else {
            throw CommandFailed(description: "git \(arguments.joined(separator: " ")): \(collected.stderr)")
        }
        return collected.stdout
    }

    func read(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    /// The inode of `path`, to tell a reused directory from a recreated one.
    func inode(_ path: String) throws -> UInt64 {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require((attributes[.systemFileNumber] as? NSNumber)?.uint64Value)
    }

    func remove() {
        ProcessTestSupport.remove(root)
    }
}

extension GitFixture {
    /// Whether `repository` holds commit `hash`.
    func hasCommit(_ hash: String, in repository: String) async -> Bool {
        do {
            try await git(["cat-file", "-e", "\(hash)^{commit}"], in: repository)
            return true
        } catch {
            return false
        }
    }
}
