import Foundation

/// The git operations of Relevo: find a branch's head, describe a commit, and check a pinned
/// revision out through a per-repository bare mirror, so that a later job fetches only what is
/// new.
///
/// Mirrors live under ``cacheRoot``, one per URL (see ``GitURL/mirrorDirectoryName(for:)``);
/// updates of one mirror are serialised within the process and across processes. git never
/// prompts and never reads the user's or the system's configuration.
public struct GitClient: Sendable {
    /// The directory holding the mirrors, their lock files and git's private home.
    public let cacheRoot: String
    /// How long one git command may run before it is killed.
    public let commandTimeout: Duration

    private let command: GitCommand

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - cacheRoot: where mirrors are kept, e.g. `<work root>/mirrors`; created when needed.
    ///   - environment: the worker's variables git may need (`PATH`, proxies, `SSH_AUTH_SOCK`);
    ///     `HOME` and git's own configuration variables are replaced.
    ///   - commandTimeout: how long one git command may run.
    ///   - runner: starts the git processes.
    public init(
        cacheRoot: String,
        environment: [String: String] = ["PATH": "/usr/local/bin:/usr/bin:/bin"],
        commandTimeout: Duration = .seconds(3600),
        runner: any ProcessLauncher = ProcessRunner()
    ) {
        self.cacheRoot = cacheRoot
        self.commandTimeout = commandTimeout
        let home = (cacheRoot as NSString).appendingPathComponent(".git-home")
        command = GitCommand(
            runner: runner, environment: GitCommand.environment(base: environment, home: home), timeout: commandTimeout)
    }

    /// The full hash of `branch`'s head in the repository at `url` (`git ls-remote`).
    ///
    /// - Throws: ``GitError`` `branchNotFound`, or `unreachable` with git's reason.
    public func latestRevision(url: String, branch: String) async throws(GitError) -> String {
        let reference = branch.hasPrefix("refs/") ? branch : "refs/heads/\(branch)"
        let operation = "ls-remote \(GitURL.redacted(url)) \(branch)"
        try prepareCacheRoot(operation: operation)
        let output = try await command.check(
            ["ls-remote", "--", url, reference], in: cacheRoot, operation: operation, failure: .unreachable)
        for line in output.stdout.split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 1)
            if fields.count == 2, fields[1] == reference { return String(fields[0]) }
        }
        throw GitError(
            .branchNotFound, operation: operation,
            message: "branch '\(branch)' does not exist in \(GitURL.redacted(url))")
    }

    /// Describes `revision` (a hash, branch or tag) as found in the repository at `repository`,
    /// a mirror or a working tree.
    ///
    /// - Throws: ``GitError`` `revisionNotFound`, or `commandFailed`.
    public func commitInfo(repository: String, revision: String) async throws(GitError) -> CommitInfo {
        let operation = "describe \(revision) in \(repository)"
        try Self.checkRevisionSyntax(revision, operation: operation)
        let format = "%H%x00%an%x00%ae%x00%at%x00%s%x00%B"
        let output = try await command.check(
            ["show", "-s", "--no-color", "--format=\(format)", "\(revision)^{commit}", "--"],
            in: repository, operation: operation, failure: .revisionNotFound)
        let fields = output.stdout.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        guard fields.count >= 6, let seconds = TimeInterval(fields[3]) else {
            throw GitError(.commandFailed, operation: operation, message: "unexpected output from git show")
        }
        var message = fields[5...].joined(separator: "\0")
        while message.hasSuffix("\n") { message.removeLast() }
        return CommitInfo(
            revision: fields[0], author: fields[1], email: fields[2],
            date: Date(timeIntervalSince1970: seconds), subject: fields[4], message: message)
    }

    /// The paths (from the repository's root) that differ between commits `from` and `to` of the
    /// repository at `repository` (a mirror), renames as both names.
    ///
    /// - Throws: ``GitError`` `revisionNotFound` when either commit is not there.
    public func changedFiles(repository: String, from: String, to: String) async throws(GitError) -> [String] {
        let operation = "list the files changed from \(from) to \(to) in \(repository)"
        try Self.checkRevisionSyntax(from, operation: operation)
        try Self.checkRevisionSyntax(to, operation: operation)
        let output = try await command.check(
            ["diff", "--name-only", "--no-renames", "-z", "\(from)^{commit}", "\(to)^{commit}", "--"],
            in: repository, operation: operation, failure: .revisionNotFound)
        return output.stdout.split(separator: "\0").map(String.init)
    }

    /// The oldest commit after `from` on the way to `to` in the work tree `directory` (GoCD's
    /// `GO_FROM_REVISION`: the first change a build contains); nil if git cannot tell (a shallow
    /// clone, `from` not an ancestor of `to`).
    public func firstCommit(after from: String, upTo to: String, in directory: String) async -> String? {
        let operation = "list the commits from \(from) to \(to) in \(directory)"
        guard (try? Self.checkRevisionSyntax(from, operation: operation)) != nil, (try? Self.checkRevisionSyntax(to, operation: operation)) != nil,
              let output = try? await command.check(["rev-list", "--reverse", "--ancestry-path", "\(from)..\(to)"], in: directory, operation: operation)
        else { return nil }
        return output.stdout.split(separator: "\n").first.map(String.init)
    }

    /// Where the mirror of `url` lives, whether or not it exists yet.
    public func mirrorPath(for url: String) -> String {
        (cacheRoot as NSString).appendingPathComponent(GitURL.mirrorDirectoryName(for: url))
    }

    /// Creates the mirror of `url` (`git clone --mirror`) or brings it up to date
    /// (`git remote update --prune`), and returns its path.
    ///
    /// - Throws: ``GitError`` `unreachable` when the repository cannot be read.
    @discardableResult
    public func updateMirror(url: String) async throws(GitError) -> String {
        let mirror = mirrorPath(for: url)
        try prepareCacheRoot(operation: "update mirror of \(GitURL.redacted(url))")
        return try await MirrorLock.shared.withLock(mirror) { () async throws(GitError) -> String in
            try await update(mirror: mirror, url: url)
            return mirror
        }
    }

    /// Makes `destination` a working tree at exactly `revision` (detached HEAD): the mirror is
    /// updated if it lacks the revision, an existing clone in `destination` is reused (fetch,
    /// `checkout --force`, `clean -ffdx`), otherwise one is cloned from the mirror.
    ///
    /// - Parameters:
    ///   - revision: a full hash normally; a branch or tag name is resolved in the mirror.
    ///   - shallow: fetch only that revision, without history (`--depth 1`).
    /// - Returns: the full hash checked out.
    /// - Throws: ``GitError`` `revisionNotFound` naming the URL and revision, `unreachable`, …
    @discardableResult
    public func checkout(
        url: String, revision: String, into destination: String, shallow: Bool = false
    ) async throws(GitError) -> String {
        let operation = "checkout \(revision) of \(GitURL.redacted(url)) into \(destination)"
        try Self.checkRevisionSyntax(revision, operation: operation)
        try prepareCacheRoot(operation: operation)
        let mirror = mirrorPath(for: url)
        let tree = WorkingTree(command: command, mirror: mirror, path: destination, operation: operation)
        let hash = try await MirrorLock.shared.withLock(mirror) { () async throws(GitError) -> String in
            var hash = mirrorExists(mirror) ? try await resolve(revision, in: mirror) : nil
            if hash == nil {
                try await update(mirror: mirror, url: url)
                hash = try await resolve(revision, in: mirror)
            }
            guard let hash else {
                throw GitError(
                    .revisionNotFound, operation: operation,
                    message: "revision \(revision) does not exist in \(GitURL.redacted(url))")
            }
            // The working tree takes its objects from the mirror while the mirror cannot change;
            // afterwards it no longer depends on the mirror.
            try await tree.fetch(hash, shallow: shallow)
            return hash
        }
        try await tree.checkOut(hash)
        return hash
    }

    // MARK: - Mirror

    private func mirrorExists(_ mirror: String) -> Bool {
        FileManager.default.fileExists(atPath: (mirror as NSString).appendingPathComponent("HEAD"))
    }

    /// Clones or updates the mirror; the caller holds the mirror's lock.
    private func update(mirror: String, url: String) async throws(GitError) {
        let display = GitURL.redacted(url)
        if mirrorExists(mirror) {
            try await command.check(
                ["remote", "update", "--prune"], in: mirror, operation: "update mirror of \(display)",
                failure: .unreachable)
            return
        }
        // Clone beside the final path and rename, so that a clone cut short never looks like a mirror.
        let operation = "create mirror of \(display)"
        let partial = mirror + ".partial-\(UUID().uuidString)"
        let output = try await command.run(
            ["clone", "--mirror", "--quiet", "--", url, partial], in: cacheRoot, operation: operation)
        do {
            guard output.status.isSuccess else {
                throw GitError(.unreachable, operation: operation, message: output.reason)
            }
            try await command.check(
                ["config", "uploadpack.allowAnySHA1InWant", "true"], in: partial, operation: operation)
            try FileManager.default.moveItem(atPath: partial, toPath: mirror)
        } catch {
            removeIfPresent(partial)
            if let error = error as? GitError { throw error }
            throw GitError(.fileSystem, operation: operation, message: "\(error)")
        }
    }

    /// The full hash `revision` names in `repository`, or `nil` if it names no commit there.
    private func resolve(_ revision: String, in repository: String) async throws(GitError) -> String? {
        let output = try await command.run(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", "\(revision)^{commit}"],
            in: repository, operation: "resolve \(revision)")
        guard output.status.isSuccess else { return nil }
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func prepareCacheRoot(operation: String) throws(GitError) {
        let home = command.environment["HOME"] ?? cacheRoot
        do {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        } catch {
            throw GitError(.fileSystem, operation: operation, message: "cannot create \(home): \(error)")
        }
    }

    private func removeIfPresent(_ path: String) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            // A leftover partial clone only costs disk space: its name never matches a mirror.
        }
    }

    /// Refuses revisions git would read as options.
    static func checkRevisionSyntax(_ revision: String, operation: String) throws(GitError) {
        guard !revision.isEmpty, !revision.hasPrefix("-"), !revision.contains("\0") else {
            throw GitError(.revisionNotFound, operation: operation, message: "'\(revision)' is not a revision")
        }
    }
}
