import Foundation

/// A job's working tree of one git material, fed from the material's local mirror.
struct WorkingTree: Sendable {
    let command: GitCommand
    /// The bare mirror the tree fetches from.
    let mirror: String
    /// The working tree's directory.
    let path: String
    /// The checkout this is part of, for error messages.
    let operation: String

    /// Makes `hash` present in the tree's repository: reuses the repository already there,
    /// clones one from the mirror into a missing or empty directory, or initialises one in a
    /// directory that has files but no repository.
    func fetch(_ hash: String, shallow: Bool) async throws(GitError) {
        // A local path clone hard-links objects but ignores --depth; a file:// URL honours it.
        let source = shallow ? "file://" + mirror : mirror
        let files = FileManager.default
        if files.fileExists(atPath: (path as NSString).appendingPathComponent(".git")) {
            try resetRepositorySettings(source: source)
        } else if try isMissingOrEmpty() {
            let parent = (path as NSString).deletingLastPathComponent
            do {
                try files.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw GitError(.fileSystem, operation: operation, message: "cannot create \(parent): \(error)")
            }
            var clone = ["clone", "--no-checkout", "--quiet"]
            if shallow { clone += ["--depth", "1", "--no-single-branch"] }
            try await command.check(clone + ["--", source, path], in: parent, operation: operation)
        } else {
            try await git(["init", "--quiet"])
            try await git(["config", "remote.origin.url", source])
        }
        guard try await !hasCommit(hash) else { return }
        var fetch = ["fetch", "--quiet", "--no-tags"]
        if shallow { fetch += ["--depth", "1"] }
        try await git(fetch + ["origin", hash])
    }

    /// Detaches HEAD at `hash`, discarding local changes and every untracked or ignored file.
    func checkOut(_ hash: String) async throws(GitError) {
        try await git(["checkout", "--quiet", "--force", "--detach", hash])
        try await git(["clean", "-ffdxq"])
        let head = try await git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard head == hash else {
            throw GitError(.commandFailed, operation: operation, message: "HEAD is \(head) after checking out \(hash)")
        }
    }

    /// A tree is reused by later jobs, and a job may have changed its `.git`: its settings are
    /// written afresh (no filter, pager, helper or command a job set survives), and its hooks and
    /// attributes are removed, before git reads any of them.
    private func resetRepositorySettings(source: String) throws(GitError) {
        let gitDirectory = (path as NSString).appendingPathComponent(".git")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: gitDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw GitError(.fileSystem, operation: operation, message: "\(gitDirectory) is not a repository folder")
        }
        let quoted = source.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let settings = [
            "[core]", "\trepositoryformatversion = 0", "\tfilemode = true", "\tbare = false", "\tlogallrefupdates = true",
            "[remote \"origin\"]", "\turl = \"\(quoted)\"", "\tfetch = +refs/heads/*:refs/remotes/origin/*", "",
        ].joined(separator: "\n")
        do {
            for planted in ["hooks", "info/attributes", "config.worktree"] {
                let file = (gitDirectory as NSString).appendingPathComponent(planted)
                if FileManager.default.fileExists(atPath: file) { try FileManager.default.removeItem(atPath: file) }
            }
            try settings.write(toFile: (gitDirectory as NSString).appendingPathComponent("config"), atomically: true, encoding: .utf8)
        } catch {
            throw GitError(.fileSystem, operation: operation, message: "cannot reset the settings of \(gitDirectory): \(error)")
        }
    }

    private func hasCommit(_ hash: String) async throws(GitError) -> Bool {
        let output = try await command.run(["cat-file", "-e", "\(hash)^{commit}"], in: path, operation: operation)
        return output.status.isSuccess
    }

    @discardableResult
    private func git(_ arguments: [String]) async throws(GitError) -> GitCommand.Output {
        try await command.check(arguments, in: path, operation: operation)
    }

    private func isMissingOrEmpty() throws(GitError) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return true }
        guard isDirectory.boolValue else {
            throw GitError(.fileSystem, operation: operation, message: "\(path) exists and is not a directory")
        }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).isEmpty
        } catch {
            throw GitError(.fileSystem, operation: operation, message: "cannot list \(path): \(error)")
        }
    }
}
