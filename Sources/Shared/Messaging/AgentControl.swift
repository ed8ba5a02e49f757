/// An administrator enabled or disabled an agent: sent on the `relevo.catalog` fanout exchange
/// (AMQP `type` ``messageType``); the agent with that UUID stops taking jobs (the running ones
/// finish) or starts again. A disabled agent gets it again with each of its heartbeats.
public struct AgentControl: Sendable, Equatable, Codable {
    public static let messageType = "relevo.agent"

    public var uuid: String
    public var enabled: Bool

    public init(uuid: String, enabled: Bool) {
        self.uuid = uuid
        self.enabled = enabled
    }
}

extension MessageCodec {
    public static func decodeAgentControl(_ body: [UInt8]) throws(DecodingFailure) -> AgentControl {
        try decodeValue(body)
    }
}
