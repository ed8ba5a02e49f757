/// A stage: jobs that run in parallel; the next stage starts only once this one has passed
/// and its approval allows it.
public struct StageDefinition: Sendable, Equatable, Codable {
    /// The stage's name, unique in its pipeline.
    public var name: String
    /// How the stage is started after the previous one.
    public var approval: ApprovalDefinition
    /// Whether agents check the materials out before the jobs run (GoCD's default: `true`).
    public var fetchMaterials: Bool
    /// Whether agents empty the work directory first (GoCD's default: `false`).
    public var cleanWorkspace: Bool
    /// Whether the stage's artifacts are never cleaned up (`keep_artifacts`).
    public var keepArtifacts: Bool
    /// Variables of the stage, applied over the pipeline's and the environment's.
    public var environmentVariables: [EnvironmentVariable]
    /// The stage's jobs.
    public var jobs: [JobDefinition]

    /// Creates a stage.
    public init(
        name: String,
        approval: ApprovalDefinition = .success,
        fetchMaterials: Bool = true,
        cleanWorkspace: Bool = false,
        keepArtifacts: Bool = false,
        environmentVariables: [EnvironmentVariable] = [],
        jobs: [JobDefinition]
    ) {
        self.name = name
        self.approval = approval
        self.fetchMaterials = fetchMaterials
        self.cleanWorkspace = cleanWorkspace
        self.keepArtifacts = keepArtifacts
        self.environmentVariables = environmentVariables
        self.jobs = jobs
    }

    /// The job with this name (GoCD names are case-insensitive).
    public func job(named name: String) -> JobDefinition? {
        jobs.first { $0.name.lowercased() == name.lowercased() }
    }
}
