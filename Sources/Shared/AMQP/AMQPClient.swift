public import Logging

/// A recovering connection to a RabbitMQ broker, built on librabbitmq.
///
/// One client is one AMQP connection with its own thread. Publishing and consuming belong on
/// separate clients: librabbitmq can block a publisher when the broker raises a memory alarm,
/// and acks must keep flowing then. The client remembers the topology it declared and the
/// consumers it started, and restores both after every reconnect.
public final class AMQPClient: Sendable {
    private let loop: ConnectionLoop

    /// The settings this client connects with.
    public var settings: AMQPSettings { loop.settings }

    private init(loop: ConnectionLoop) {
        self.loop = loop
    }

    /// Starts a client and waits until its first connection is up (within the settings'
    /// connect timeout, or `waitUpTo` if longer). If it cannot connect, the client is closed and
    /// the last connection error is thrown (e.g. connection refused, access refused).
    public static func connect(_ settings: AMQPSettings, logger: Logger = Logger(label: "relevo.amqp"),
                               waitUpTo: Duration? = nil) async throws(AMQPError) -> AMQPClient {
        let loop = ConnectionLoop(settings: settings, logger: logger)
        let client = AMQPClient(loop: loop)
        loop.start()
        let deadline = ContinuousClock.now + max(waitUpTo ?? settings.connectTimeout, settings.connectTimeout)
        while true {
            let result: Result<Void, AMQPError> = await withCheckedContinuation { continuation in
                loop.enqueue { loop in
                    if loop.connection != nil {
                        continuation.resume(returning: .success(()))
                    } else if loop.isStopping {
                        continuation.resume(returning: .failure(AMQPError(.closed, operation: "connect", message: "the client is closed")))
                    } else {
                        loop.connectWaiters.append { continuation.resume(returning: $0) }
                    }
                }
            }
            switch result {
            case .success:
                return client
            case .failure(let error):
                if ContinuousClock.now >= deadline || !error.isRetriable {
                    await client.close()
                    throw error
                }
            }
        }
    }

    /// Every connection event from now on (connected, disconnected, consumer cancelled…).
    public func events() -> AsyncStream<AMQPEvent> {
        loop.events.subscribe()
    }

    /// Whether the client has a live connection right now.
    public var isConnected: Bool {
        get async { (try? await loop.perform { loop in loop.connection != nil }) ?? false }
    }

    // MARK: Topology

    /// Declares exchanges, then queues, then bindings, and remembers them so that they are
    /// declared again after a reconnect.
    public func declare(_ topology: AMQPTopology) async throws(AMQPError) {
        try await loop.perform { (loop) throws(AMQPError) in
            try loop.declareOnConnection(topology)
            loop.topology = loop.topology.merging(topology)
        }
    }

    /// Message and consumer counts of an existing queue; throws `channelClosed` (404) if there is none.
    public func queueStatus(_ name: String) async throws(AMQPError) -> (messages: Int, consumers: Int) {
        try await loop.perform { (loop) throws(AMQPError) in
            try loop.rpc { (connection) throws(AMQPError) in
                try connection.declare(QueueDefinition(name: name), passive: true, channel: ConnectionLoop.controlChannel)
            }
        }
    }

    /// Deletes a queue (consumers on it are cancelled by the broker) and forgets it; returns the
    /// number of messages it held.
    @discardableResult
    public func deleteQueue(_ name: String) async throws(AMQPError) -> Int {
        try await loop.perform { (loop) throws(AMQPError) in
            let count = try loop.rpc { (connection) throws(AMQPError) in
                try connection.deleteQueue(name, channel: ConnectionLoop.controlChannel)
            }
            loop.topology = loop.topology.removingQueue(name)
            return count
        }
    }

    /// Removes every ready message from a queue; returns how many.
    @discardableResult
    public func purgeQueue(_ name: String) async throws(AMQPError) -> Int {
        try await loop.perform { (loop) throws(AMQPError) in
            try loop.rpc { (connection) throws(AMQPError) in
                try connection.purgeQueue(name, channel: ConnectionLoop.controlChannel)
            }
        }
    }

    // MARK: Publishing

    /// Publishes a message and returns once the broker has confirmed it (for persistent messages
    /// on durable queues: written to disk). Many publishes may wait for confirms at once; each
    /// costs one write, not a round trip.
    ///
    /// Throws `.nacked` if the broker refuses it, `.unroutable` if `mandatory` and no queue
    /// matches, `.channelClosed` (e.g. 404 no such exchange), `.connectionLost` if the connection
    /// dies before the confirm (outcome unknown), `.notConnected` while reconnecting.
    public func publish(_ body: [UInt8], exchange: String, routingKey: String,
                        properties: MessageProperties = MessageProperties(), mandatory: Bool = true) async throws(AMQPError) {
        let operation = "publish to exchange '\(exchange)' with key '\(routingKey)'"
        let result: Result<Void, AMQPError> = await withCheckedContinuation { continuation in
            loop.enqueue { loop in
                guard let connection = loop.connection else {
                    continuation.resume(returning: .failure(loop.isStopping
                        ? AMQPError(.closed, operation: operation, message: "the client is closed")
                        : AMQPError(.notConnected, operation: operation, message: "not connected to \(loop.settings.endpoint); reconnecting")))
                    return
                }
                let sequence = loop.confirms.register(operation: operation) { continuation.resume(returning: $0) }
                var properties = properties
                if mandatory { properties.headers[publishSequenceHeader] = .int(Int64(sequence)) }
                do throws(AMQPError) {
                    try connection.publish(exchange: exchange, routingKey: routingKey, body: body, properties: properties,
                                           mandatory: mandatory, channel: loop.publishChannel)
                } catch {
                    loop.confirms.fail(sequence, error)
                    loop.connectionDied(error)
                }
            }
        }
        try result.get()
    }

    /// One message of ``publish(_:)``.
    public struct OutgoingMessage: Sendable {
        public var body: [UInt8]
        public var exchange: String
        public var routingKey: String
        public var properties: MessageProperties
        public var mandatory: Bool

        public init(body: [UInt8], exchange: String, routingKey: String, properties: MessageProperties = MessageProperties(),
                    mandatory: Bool = true) {
            self.body = body
            self.exchange = exchange
            self.routingKey = routingKey
            self.properties = properties
            self.mandatory = mandatory
        }
    }

    /// Publishes several messages in one hand-over to the connection's thread and returns once
    /// the broker has confirmed (or refused) every one: what `publish` would have thrown for
    /// each, in order, nil where it was confirmed.
    public func publish(_ messages: [OutgoingMessage]) async -> [AMQPError?] {
        guard !messages.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            loop.enqueue { loop in
                let batch = PublishBatch(count: messages.count) { continuation.resume(returning: $0) }
                for (index, message) in messages.enumerated() {
                    let operation = "publish to exchange '\(message.exchange)' with key '\(message.routingKey)'"
                    guard let connection = loop.connection else {
                        batch.settle(index, .failure(loop.isStopping
                            ? AMQPError(.closed, operation: operation, message: "the client is closed")
                            : AMQPError(.notConnected, operation: operation, message: "not connected to \(loop.settings.endpoint); reconnecting")))
                        continue
                    }
                    let sequence = loop.confirms.register(operation: operation) { batch.settle(index, $0) }
                    var properties = message.properties
                    if message.mandatory { properties.headers[publishSequenceHeader] = .int(Int64(sequence)) }
                    do throws(AMQPError) {
                        try connection.publish(exchange: message.exchange, routingKey: message.routingKey, body: message.body,
                                               properties: properties, mandatory: message.mandatory, channel: loop.publishChannel)
                    } catch {
                        loop.confirms.fail(sequence, error)
                        loop.connectionDied(error)
                    }
                }
            }
        }
    }

    // MARK: Consuming

    /// Starts consuming `queue` with manual acks and at most `prefetch` unacked deliveries.
    /// The consumer survives reconnects (deliveries from before a reconnect then fail to settle
    /// with `.staleDelivery`: the broker has requeued them). Its sequence ends with an error if
    /// the broker cancels it (queue deleted) and ends normally when cancelled or closed.
    public func consume(queue: String, prefetch: UInt16 = 1, exclusive: Bool = false,
                        arguments: [String: AMQPValue] = [:]) async throws(AMQPError) -> AMQPConsumer {
        let (stream, continuation) = AsyncThrowingStream<AMQPDelivery, any Error>.makeStream()
        let loop = self.loop
        let id: UInt64 = try await loop.perform { (loop) throws(AMQPError) in
            guard loop.connection != nil else {
                throw AMQPError(.notConnected, operation: "consume from queue \(queue)", message: "not connected; reconnecting")
            }
            let id = loop.nextConsumerID
            loop.nextConsumerID += 1
            loop.consumers[id] = ConnectionLoop.ConsumerRecord(queue: queue, prefetch: prefetch, exclusive: exclusive,
                                                               arguments: arguments, continuation: continuation)
            do throws(AMQPError) {
                try loop.startConsumer(id)
            } catch {
                loop.consumers[id] = nil
                throw error
            }
            return id
        }
        continuation.onTermination = { _ in
            loop.enqueue { loop in loop.cancelConsumer(id) }
        }
        return AMQPConsumer(queue: queue, stream: stream, cancelAction: {
            try? await loop.perform { loop in loop.cancelConsumer(id) }
        }, pauseAction: {
            try? await loop.perform { loop in loop.pauseConsumer(id) }
        })
    }

    // MARK: Lifecycle

    /// Cancels every consumer (before closing channels, so no ack is lost), closes the
    /// connection and ends the client's thread. Waiting publishes fail with `.closed`.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.enqueue { loop in
                if loop.isStopping {
                    continuation.resume()
                } else {
                    loop.requestStop { continuation.resume() }
                }
            }
        }
    }

    /// Cuts the TCP connection without an AMQP close, as a failing network would. For tests of
    /// recovery; the client reconnects by itself afterwards.
    public func simulateNetworkFailure() async {
        _ = try? await loop.perform { loop in loop.connection?.shutdownSocket() }
    }
}

/// The outcomes of one ``AMQPClient/publish(_:)`` call as confirms come in; used only on the
/// connection's thread. Calls `done` once every message has an outcome.
private final class PublishBatch {
    private var outcomes: [AMQPError?]
    private var waiting: Int
    private let done: ([AMQPError?]) -> Void

    init(count: Int, done: @escaping ([AMQPError?]) -> Void) {
        outcomes = Array(repeating: nil, count: count)
        waiting = count
        self.done = done
    }

    func settle(_ index: Int, _ result: Result<Void, AMQPError>) {
        if case .failure(let error) = result { outcomes[index] = error }
        waiting -= 1
        if waiting == 0 { done(outcomes) }
    }
}
