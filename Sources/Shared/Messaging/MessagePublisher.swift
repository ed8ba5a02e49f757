/// What a process needs from the broker to send messages: confirmed publishes, one at a time or
/// in a batch, topology declarations and a queue's depth. ``AMQPClient`` is the real one; the
/// test-support target has an in-memory stand-in, so dispatch and event handling are tested
/// without a broker.
public protocol MessagePublisher: Sendable {
    /// Publishes one message and returns once the broker confirmed it; throws what it refused.
    func publish(_ body: [UInt8], exchange: String, routingKey: String, properties: MessageProperties,
                 mandatory: Bool) async throws(AMQPError)
    /// Publishes several messages at once; one result per message, in order, nil where confirmed.
    func publish(_ messages: [AMQPClient.OutgoingMessage]) async -> [AMQPError?]
    /// Declares exchanges, queues and bindings (idempotent).
    func declare(_ topology: AMQPTopology) async throws(AMQPError)
    /// Ready messages and consumers of `name`, as a passive declare reports them.
    func queueStatus(_ name: String) async throws(AMQPError) -> (messages: Int, consumers: Int)
}

extension MessagePublisher {
    /// Publishes one message (mandatory by default: an unroutable one is an error).
    public func publish(_ body: [UInt8], exchange: String, routingKey: String,
                        properties: MessageProperties = MessageProperties()) async throws(AMQPError) {
        try await publish(body, exchange: exchange, routingKey: routingKey, properties: properties, mandatory: true)
    }
}

extension AMQPClient: MessagePublisher {}
