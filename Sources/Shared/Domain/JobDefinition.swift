import Foundation

/// A job: tasks that run in order on one agent (GoCD's job). The jobs of a stage run in
/// parallel, possibly on different agents.
public struct JobDefinition: Sendable, Equatable, Codable {
    /// The job's name, unique in its stage.
    public var name: String
    /// What an agent must have to run the job: trimmed, lowercased (GoCD resources are
    /// case-insensitive), sorted and without duplicates.
    public var resources: [String]
    /// How many copies of the job run.
    public var runInstances: RunInstances
    /// Minutes after which the job is cancelled: `nil` uses the server's default, `0` never times out.
    public var timeout: Int?
    /// Variables of the job, applied over the stage's, the pipeline's and the environment's.
    public var environmentVariables: [EnvironmentVariable]
    /// What the job publishes when it finishes.
    public var artifacts: [ArtifactDefinition]
    /// Relevo's `serial`: runs of jobs with the same key never overlap anywhere in the fleet and
    /// run in the order they were requested (queue `relevo.serial.<key>`); `nil` for an ordinary job.
    public var serial: String?
    /// The steps, run in order.
    public var tasks: [TaskDefinition]
    /// GoCD's custom tabs: a name and the path of one of the job's artifacts, linked from the
    /// job's page.
    public var tabs: [JobTab]

    /// Creates a job.
    public init(
        name: String,
        resources: [String] = [],
        runInstances: RunInstances = .one,
        timeout: Int? = nil,
        environmentVariables: [EnvironmentVariable] = [],
        artifacts: [ArtifactDefinition] = [],
        serial: String? = nil,
        tasks: [TaskDefinition],
        tabs: [JobTab] = []
    ) {
        self.name = name
        self.resources = JobDefinition.normalizedResources(resources)
        self.runInstances = runInstances
        self.timeout = timeout
        self.environmentVariables = environmentVariables
        self.artifacts = artifacts
        self.serial = serial
        self.tasks = tasks
        self.tabs = tabs
    }

    /// Resources as agents and queues compare them: trimmed, lowercased, sorted, unique,
    /// without empty names.
    public static func normalizedResources(_ resources: [String]) -> [String] {
        let cleaned =
            resources
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
            .filter { !$0.isEmpty }
        return Array(Set(cleaned)).sorted()
    }
}

/// A custom tab of a job (GoCD's `tabs: {name: path}`): `path` is an artifact path of the job.
public struct JobTab: Sendable, Equatable, Codable {
    public var name: String
    public var path: String

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }
}
