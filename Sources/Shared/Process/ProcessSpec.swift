/// What to run: a program, its argument vector, its whole environment and its working directory.
/// No shell is involved and nothing is inherited from the calling process.
public struct ProcessSpec: Sendable, Equatable {
    /// A path (absolute, or relative to ``workingDirectory``) when it contains a `/`; otherwise a
    /// name looked up on the `PATH` of ``environment``.
    public var executable: String
    /// The arguments after the program's own name (`argv[1...]`).
    public var arguments: [String]
    /// The child's entire environment.
    public var environment: [String: String]
    /// The directory the child starts in; it must exist.
    public var workingDirectory: String

    /// Creates a spec.
    public init(
        executable: String,
        arguments: [String] = [],
        environment: [String: String],
        workingDirectory: String
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    /// The program and its arguments, for log lines (`echo a b`).
    public var commandLine: String { ([executable] + arguments).joined(separator: " ") }
}
