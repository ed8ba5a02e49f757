/// How a child process ended: an outcome, never an error.
public enum ProcessExitStatus: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The process called `exit` with this code.
    case exited(Int32)
    /// The process was killed by this signal (e.g. 9 for SIGKILL, 15 for SIGTERM).
    case signaled(Int32)

    /// Whether the process exited with code 0.
    public var isSuccess: Bool { self == .exited(0) }

    /// `exit 3` or `signal 9`.
    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signaled(let signal): "signal \(signal)"
        }
    }
}
