/// Everything a worker needs to run one job run, sent by the scheduler to the job's queue.
/// Versioned: a worker refuses (dead-letters) a version it does not know.
public struct JobMessage: Sendable, Equatable, Codable {
    /// The contract version this type encodes. Version 5 carries no artifact token and no
    /// credentials in material URLs either; version 4 carries no secure value (the worker
    /// fetches them: ``JobSecretsRequest``); version 3 carries the scheduler's attempt number
    /// (version 2 left it to the broker's delivery count); version 2 named the job run by its
    /// typed id alone (version 1 also carried the id's six parts as separate fields).
    public static let currentVersion = 5

    public var version: Int
    /// The job run this message runs.
    public var jobRunID: JobRunID
    /// Which attempt at the job run this message is, from 1: the scheduler's number, new each
    /// time it dispatches the job again. A worker that receives it a second time (the broker
    /// redelivered it) does not run it but tells the scheduler, which decides.
    public var attempt: Int
    /// The pipeline run's label (GoCD's `GO_PIPELINE_LABEL`).
    public var pipelineLabel: String
    /// How many copies of the job its stage runs (`run_instances`; 1 for an ordinary job).
    public var runCount: Int
    /// The environment the pipeline is in, if any.
    public var environment: String?
    public var resources: [String]
    /// Git materials to check out, at the revisions the pipeline instance pinned.
    public var materials: [MaterialCheckout]
    public var cleanWorkspace: Bool
    public var fetchMaterials: Bool
    /// The tasks in order, `fetch` tasks already resolved to the job run they fetch from.
    public var tasks: [TaskDefinition]
    /// Variables already merged with GoCD's precedence (environment < pipeline < stage < job).
    /// Secure ones travel with their name and flag but an empty value: the worker fetches the
    /// values from the scheduler (``JobSecretsRequest``) and masks them in the console.
    public var environmentVariables: [EnvironmentVariable]
    public var artifacts: [ArtifactDefinition]
    /// Cancel the job after this many seconds without console output; nil never.
    public var inactivityTimeoutSeconds: Int?
    /// Where the worker reaches the scheduler's HTTP API (artifacts, `GO_SERVER_URL`).
    public var serverURL: String
    /// Authorises this attempt's artifact uploads (to ``artifactLocator``) and the reads its
    /// `fetch` tasks need, while the attempt runs. Empty in the published message: the worker
    /// that holds the job gets it with the job's secrets (``JobSecretsReply``).
    public var artifactToken: String

    public init(jobRunID: JobRunID, attempt: Int = 1, pipelineLabel: String, runCount: Int = 1, environment: String? = nil,
                resources: [String] = [], materials: [MaterialCheckout] = [], cleanWorkspace: Bool = false,
                fetchMaterials: Bool = true, tasks: [TaskDefinition], environmentVariables: [EnvironmentVariable] = [],
                artifacts: [ArtifactDefinition] = [], inactivityTimeoutSeconds: Int? = nil, serverURL: String,
                artifactToken: String) {
        self.version = Self.currentVersion
        self.jobRunID = jobRunID
        self.attempt = attempt
        self.pipelineLabel = pipelineLabel
        self.runCount = runCount
        self.environment = environment
        self.resources = resources
        self.materials = materials
        self.cleanWorkspace = cleanWorkspace
        self.fetchMaterials = fetchMaterials
        self.tasks = tasks
        self.environmentVariables = environmentVariables
        self.artifacts = artifacts
        self.inactivityTimeoutSeconds = inactivityTimeoutSeconds
        self.serverURL = serverURL
        self.artifactToken = artifactToken
    }

    /// This message's attempt at its job run.
    public var jobAttempt: JobAttempt { JobAttempt(jobRunID: jobRunID, attempt: attempt) }

    /// Where this job run's artifacts are stored.
    public var artifactLocator: ArtifactLocator { jobRunID.artifactLocator(runCount: runCount) }

    /// The queue this job goes to: its serial queue if `serialKey` is set, else the queue keyed by
    /// environment and resources.
    public func queueName(serialKey: String?) -> String {
        if let serialKey { return QueueCatalog.serialQueue(key: serialKey) }
        return JobQueueKey(environment: environment, resources: resources).queueName
    }
}

/// A git material as a job must check it out.
public struct MaterialCheckout: Sendable, Equatable, Codable {
    public var name: String
    public var url: String
    public var branch: String
    /// The exact commit the pipeline instance was built from.
    public var revision: String
    /// Folder under the pipeline's work directory; empty for the directory itself.
    public var destination: String
    public var shallowClone: Bool
    /// The revision the pipeline's previous instance was built from, if there was one: GoCD's
    /// `GO_MATERIAL_<NAME>_HAS_CHANGED` and `GO_FROM_REVISION_<NAME>` come from it.
    public var previousRevision: String?

    public init(name: String, url: String, branch: String, revision: String, destination: String = "", shallowClone: Bool = false,
                previousRevision: String? = nil) {
        self.name = name
        self.url = url
        self.branch = branch
        self.revision = revision
        self.destination = destination
        self.shallowClone = shallowClone
        self.previousRevision = previousRevision
    }
}
