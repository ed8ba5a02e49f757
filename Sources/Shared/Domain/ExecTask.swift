/// Runs one program with an argument vector, no shell (GoCD's `exec` task).
public struct ExecTask: Sendable, Equatable, Codable {
    /// The program to run, looked up on the agent's `PATH` when not a path.
    public var command: String
    /// The argument vector, passed as is.
    public var arguments: [String]
    /// Directory relative to the pipeline's work directory; `nil` means the work directory.
    public var workingDirectory: String?
    /// When the task runs, given how the earlier tasks went.
    public var runIf: RunIf
    /// What to run if the task is cancelled while running.
    public var onCancel: OnCancelTask?

    /// Creates an exec task.
    public init(
        command: String,
        arguments: [String] = [],
        workingDirectory: String? = nil,
        runIf: RunIf = .passed,
        onCancel: OnCancelTask? = nil
    ) {
        self.command = command
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.runIf = runIf
        self.onCancel = onCancel
    }
}
