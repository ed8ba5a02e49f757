public import Shared

/// An in-memory ``MessagePublisher``: every publish is recorded (and confirmed) unless the test
/// told it to refuse, so that the scheduler's dispatch and event handling run without a broker.
public actor InMemoryPublisher: MessagePublisher {
    /// One message as it was published.
    public struct Published: Sendable {
        public var body: [UInt8]
        public var exchange: String
        public var routingKey: String
        public var properties: MessageProperties
    }

    /// Every confirmed message, in publish order.
    public private(set) var published: [Published] = []
    /// Queues declared, by name.
    public private(set) var declaredQueues: Set<String> = []
    /// While set, every publish fails with this error (the broker is down).
    public var failure: AMQPError?
    /// Messages taken out of each queue (consumed, or purged by an operator).
    private var taken: [String: Int] = [:]

    public init() {}

    /// Makes publishes fail with `error` (nil: confirm them again).
    public func setFailure(_ error: AMQPError?) { failure = error }

    /// The messages published to `routingKey` on the default exchange (a queue), in order.
    public func messages(toQueue queue: String) -> [Published] {
        published.filter { $0.exchange == "" && $0.routingKey == queue }
    }

    public func publish(_ body: [UInt8], exchange: String, routingKey: String, properties: MessageProperties,
                        mandatory: Bool) async throws(AMQPError) {
        if let failure { throw failure }
        published.append(Published(body: body, exchange: exchange, routingKey: routingKey, properties: properties))
    }

    public func publish(_ messages: [AMQPClient.OutgoingMessage]) async -> [AMQPError?] {
        messages.map { message in
            if let failure { return failure }
            published.append(Published(body: message.body, exchange: message.exchange, routingKey: message.routingKey,
                                       properties: message.properties))
            return nil
        }
    }

    public func declare(_ topology: AMQPTopology) async throws(AMQPError) {
        if let failure { throw failure }
        declaredQueues.formUnion(topology.queues.map(\.name))
    }

    public func queueStatus(_ name: String) async throws(AMQPError) -> (messages: Int, consumers: Int) {
        if let failure { throw failure }
        return (max(0, published.filter { $0.routingKey == name }.count - taken[name, default: 0]), 0)
    }

    /// Empties a queue as `rabbitmqctl purge_queue` does (its messages stay in ``published``).
    public func purge(_ queue: String) {
        taken[queue] = published.filter { $0.routingKey == queue }.count
    }
}
