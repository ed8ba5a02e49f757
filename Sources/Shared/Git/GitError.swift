/// The one error type of the git boundary: what failed, why, and whether trying again can help.
public struct GitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; callers branch on this, never on the message text.
    public enum Code: String, Sendable, Equatable {
        /// `git` itself cannot be run (not on the `PATH` given to the client).
        case gitUnavailable
        /// The repository could not be reached or read (network, authentication, no such repository).
        case unreachable
        /// The repository has no such branch.
        case branchNotFound
        /// The repository has no such revision, even after fetching.
        case revisionNotFound
        /// A local git command failed (a broken mirror, a full disk, a locked index…).
        case commandFailed
        /// A git command took longer than the client allows and was killed.
        case timedOut
        /// The calling task was cancelled; the git command was killed.
        case cancelled
        /// A directory of the mirror cache or a destination could not be created or replaced.
        case fileSystem
    }

    /// What kind of failure this is.
    public let code: Code
    /// The operation that failed, e.g. `ls-remote https://host/repo.git`; credentials in URLs
    /// are redacted.
    public let operation: String
    /// A human-readable reason, usually ending with git's own message.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, operation: String, message: String) {
        self.code = code
        self.operation = operation
        self.message = message
    }

    /// Whether the same operation may succeed later: a server that could not be reached or a
    /// command that ran out of time. A missing branch or revision stays missing until someone
    /// pushes, which the next poll will see anyway.
    public var isRetriable: Bool {
        switch code {
        case .unreachable, .timedOut: true
        case .gitUnavailable, .branchNotFound, .revisionNotFound, .commandFailed, .cancelled, .fileSystem: false
        }
    }

    /// `operation: message`.
    public var description: String { "\(operation): \(message)" }
}
