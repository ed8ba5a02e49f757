import Glibc

/// The one error type of the process boundary: a child process could not be started or
/// watched. A program that runs and exits non-zero is not an error: see ``ProcessExitStatus``.
public struct ProcessError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; callers branch on this, never on the message text.
    public enum Code: String, Sendable, Equatable {
        /// The program is not on the `PATH` of the given environment, or its path does not exist.
        case programNotFound
        /// The program exists but is not an executable file (a directory, no `x` bit…).
        case notExecutable
        /// The working directory does not exist or is not a directory.
        case workingDirectoryMissing
        /// A system call needed to start or watch the child failed (pipe, posix_spawn…).
        case systemCallFailed
    }

    /// What kind of failure this is.
    public let code: Code
    /// The operation that failed, e.g. `run mvn`.
    public let operation: String
    /// A human-readable reason, e.g. `cannot run 'mvnx': no such file in PATH /usr/bin:/bin`.
    public let message: String
    /// The `errno` reported by the failing system call, when there is one.
    public let errno: Int32?

    /// Creates an error.
    public init(_ code: Code, operation: String, message: String, errno: Int32? = nil) {
        self.code = code
        self.operation = operation
        self.message = message
        self.errno = errno
    }

    /// Whether the same start may succeed if tried again: only resource exhaustion (too many
    /// processes or open files) is worth a retry; a missing program stays missing.
    public var isRetriable: Bool {
        switch code {
        case .systemCallFailed:
            return errno.map { [EAGAIN, EMFILE, ENFILE, ENOMEM].contains($0) } ?? false
        case .programNotFound, .notExecutable, .workingDirectoryMissing:
            return false
        }
    }

    /// `operation: message`.
    public var description: String { "\(operation): \(message)" }
}
