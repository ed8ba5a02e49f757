import Foundation

/// A worker as the scheduler records it: who it is, what it can run and when it was last heard of.
struct Agent: Sendable, Equatable, Codable {
    /// The agent's persistent identity.
    var uuid: String
    /// The agent's display name (usually its host name).
    var name: String
    /// The agent's own resources (from its settings), normalised as jobs' resources are.
    var resources: [String]
    /// The environments the agent belongs to by its own settings.
    var environments: [String]
    /// What the agent was last reported doing.
    var state: AgentState
    /// When the agent's last heartbeat arrived.
    var lastHeartbeatAt: Date?
    /// The job run the agent is running, as a ``JobRunID``'s text form.
    var currentJob: String?
    /// Resources an administrator set, which the agent takes instead of its own; `nil` if none.
    var configuredResources: [String]?
    /// Environments an administrator set; `nil` if none.
    var configuredEnvironments: [String]?

    /// Creates an agent record.
    init(
        uuid: String, name: String, resources: [String] = [], environments: [String] = [],
        state: AgentState = .idle, lastHeartbeatAt: Date? = nil, currentJob: String? = nil,
        configuredResources: [String]? = nil, configuredEnvironments: [String]? = nil
    ) {
        self.configuredResources = configuredResources
        self.configuredEnvironments = configuredEnvironments
        self.uuid = uuid
        self.name = name
        self.resources = resources
        self.environments = environments
        self.state = state
        self.lastHeartbeatAt = lastHeartbeatAt
        self.currentJob = currentJob
    }

    /// What the agent offers: what an administrator set, else its own.
    var effectiveResources: [String] { configuredResources ?? resources }
    /// The environments the agent is in: what an administrator set, else its own.
    var effectiveEnvironments: [String] { configuredEnvironments ?? environments }
}
