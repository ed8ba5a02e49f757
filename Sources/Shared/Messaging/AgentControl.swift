/// An administrator changed an agent: sent on the `relevo.catalog` fanout exchange (AMQP `type`
/// ``messageType``). The agent with that UUID stops taking jobs (the running ones finish) or
/// starts again; with `resources` or `environments`, it takes those instead of its own and
/// follows the job queues they qualify for. The scheduler sends it again with a heartbeat that
/// does not show the change yet (the agent may have restarted since).
public struct AgentControl: Sendable, Equatable, Codable {
    public static let messageType = "relevo.agent"

    public var uuid: String
    public var enabled: Bool
    /// Resources set by an administrator, replacing the agent's own; `nil` keeps its own.
    public var resources: [String]?
    /// Environments set by an administrator, replacing the agent's own; `nil` keeps its own.
    public var environments: [String]?

    public init(uuid: String, enabled: Bool, resources: [String]? = nil, environments: [String]? = nil) {
        self.uuid = uuid
        self.enabled = enabled
        self.resources = resources.map(JobDefinition.normalizedResources)
        self.environments = environments.map { $0.map { $0.lowercased() }.sorted() }
    }
}

extension MessageCodec {
    public static func decodeAgentControl(_ body: [UInt8]) throws(DecodingFailure) -> AgentControl {
        try decodeValue(body)
    }
}
