/// What a worker tells the scheduler, on the events exchange. Every event of a job names the job
/// run and the attempt, so that the scheduler can ignore events of a stale attempt.
public enum WorkerEvent: Sendable, Equatable, Codable {
    /// The worker took the job run and is preparing it.
    case accepted(JobAttempt, agent: AgentIdentity)
    /// The worker took the job run and starts its first task now: `accepted` and `taskStarted`
    /// of task 0 in one message, for a job with nothing to prepare (no material to fetch).
    case started(JobAttempt, agent: AgentIdentity)
    /// The broker delivered this attempt to the worker a second time (its first holder's
    /// connection closed, or it was handed back): the worker did not run it, and the scheduler
    /// decides whether the job runs again as a new attempt.
    case redelivered(JobAttempt, agent: AgentIdentity)
    /// Task `index` (0-based) started. `agent`, like `finished`'s, is the agent that runs it: the
    /// scheduler sets it to the event's signer and stores nothing for another agent's attempt.
    case taskStarted(JobAttempt, index: Int, agent: String? = nil)
    /// Console output, numbered from 0 per attempt so that duplicates are stored once; `agent` as
    /// in `taskStarted`.
    case console(JobAttempt, sequence: Int, text: String, agent: String? = nil)
    /// The job run ended with `result`; `console` is the end of its console output, numbered
    /// like a `console` event (sent along so that a short job costs one message less). `agent`
    /// is the uuid of the agent that ran it: a result from any other agent than the one that
    /// accepted the attempt is ignored.
    case finished(JobAttempt, result: JobResult, console: ConsoleChunk? = nil, agent: String? = nil)
    /// The agent is alive; sent periodically. `catalogVersion` is the queue catalogue the agent
    /// follows, so the scheduler can send a newer one.
    case heartbeat(AgentIdentity, busyJobs: [JobRunID], catalogVersion: Int)

    /// The routing key on the events exchange, `event.<kind>`.
    public var routingKey: String {
        switch self {
        case .accepted: return "event.accepted"
        case .started: return "event.started"
        case .redelivered: return "event.redelivered"
        case .taskStarted: return "event.task"
        case .console: return "event.console"
        case .finished: return "event.finished"
        case .heartbeat: return "event.heartbeat"
        }
    }
}

/// Console text numbered within its attempt, as a `console` event carries it.
public struct ConsoleChunk: Sendable, Equatable, Codable {
    public var sequence: Int
    public var text: String

    public init(sequence: Int, text: String) {
        self.sequence = sequence
        self.text = text
    }
}

/// Who a worker is and what it can take.
public struct AgentIdentity: Sendable, Hashable, Codable {
    /// Persistent across restarts (stored in the work directory).
    public var uuid: String
    public var name: String
    public var resources: [String]
    public var environments: [String]
    public var slots: Int
    /// Resources an administrator gave the agent and that it now uses instead of ``resources``
    /// (its own); `nil` if none.
    public var appliedResources: [String]?
    /// Environments an administrator gave the agent, in use instead of ``environments``.
    public var appliedEnvironments: [String]?

    public init(uuid: String, name: String, resources: [String], environments: [String], slots: Int) {
        self.uuid = uuid
        self.name = name
        self.resources = JobDefinition.normalizedResources(resources)
        self.environments = environments.map { $0.lowercased() }.sorted()
        self.slots = slots
    }
}
