/// A command run when the task it belongs to is cancelled (GoCD's `on_cancel`, exec form).
public struct OnCancelTask: Sendable, Equatable, Codable {
    /// The program to run, looked up on the agent's `PATH` when not a path.
    public var command: String
    /// The argument vector, passed as is: no shell is involved.
    public var arguments: [String]
    /// Directory relative to the pipeline's work directory; `nil` means the work directory.
    public var workingDirectory: String?

    /// Creates a cancel command.
    public init(command: String, arguments: [String] = [], workingDirectory: String? = nil) {
        self.command = command
        self.arguments = arguments
        self.workingDirectory = workingDirectory
    }
}
