/// An environment such as `dev` or `pro`: variables for its pipelines, and the agents that may
/// run them (GoCD's environment). Declarations of one environment in several files are merged.
public struct EnvironmentDefinition: Sendable, Equatable, Codable {
    /// The environment's name.
    public var name: String
    /// Variables given to every job of the environment's pipelines, below the pipeline's own.
    public var environmentVariables: [EnvironmentVariable]
    /// The environment's pipelines, by their declared names, sorted.
    public var pipelines: [String]
    /// Agents (UUIDs or names) that belong to the environment, as declared.
    public var agents: [String]

    /// Creates an environment.
    public init(
        name: String,
        environmentVariables: [EnvironmentVariable] = [],
        pipelines: [String] = [],
        agents: [String] = []
    ) {
        self.name = name
        self.environmentVariables = environmentVariables
        self.pipelines = pipelines
        self.agents = agents
    }
}
