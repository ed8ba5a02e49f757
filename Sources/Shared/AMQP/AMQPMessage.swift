/// The AMQP basic properties Relevo uses. Messages are persistent unless said otherwise.
public struct MessageProperties: Sendable, Hashable {
    public var contentType: String?
    public var contentEncoding: String?
    public var headers: [String: AMQPValue]
    /// Delivery mode 2: the broker writes the message to disk in durable queues.
    public var persistent: Bool
    public var priority: UInt8?
    public var correlationID: String?
    public var replyTo: String?
    /// Per-message TTL in milliseconds, as text (AMQP's spelling).
    public var expiration: String?
    public var messageID: String?
    /// Seconds since the epoch.
    public var timestamp: UInt64?
    public var type: String?
    public var appID: String?

    public init(contentType: String? = nil, contentEncoding: String? = nil, headers: [String: AMQPValue] = [:],
                persistent: Bool = true, priority: UInt8? = nil, correlationID: String? = nil,
                replyTo: String? = nil, expiration: String? = nil, messageID: String? = nil,
                timestamp: UInt64? = nil, type: String? = nil, appID: String? = nil) {
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.headers = headers
        self.persistent = persistent
        self.priority = priority
        self.correlationID = correlationID
        self.replyTo = replyTo
        self.expiration = expiration
        self.messageID = messageID
        self.timestamp = timestamp
        self.type = type
        self.appID = appID
    }
}

/// A message handed to a consumer. Its bytes are copied out of librabbitmq, so it can cross
/// tasks freely. Settle it exactly once with `ack`, `nack` or `reject`.
public struct AMQPDelivery: Sendable {
    public let body: [UInt8]
    public let properties: MessageProperties
    public let exchange: String
    public let routingKey: String
    /// The broker has delivered this message before (to this or another consumer).
    public let redelivered: Bool
    /// The consumer tag the broker assigned.
    public let consumerTag: String
    let tag: DeliveryTag
    let settler: any DeliverySettler

    /// Quorum queues count deliveries in the `x-delivery-count` header: absent (0) on the first
    /// delivery, 1 on the first redelivery, and so on.
    public var deliveryCount: Int { Self.deliveryCount(in: properties.headers) }

    /// The `x-delivery-count` of `headers`, kept within 0…1,000,000: a publisher can set the
    /// header to anything (the broker sets it only on redelivery), and arithmetic on a huge
    /// value would trap.
    public static func deliveryCount(in headers: [String: AMQPValue]) -> Int {
        guard let value = headers["x-delivery-count"]?.intValue else { return 0 }
        return Int(max(0, min(value, 1_000_000)))
    }

    /// The headers of the message.
    public var headers: [String: AMQPValue] { properties.headers }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Tells the broker the message is done with. Throws `staleDelivery` if the channel it came
    /// on has closed meanwhile (the broker has then requeued it already).
    public func ack() async throws(AMQPError) {
        try await settler.settle(tag, .ack)
    }

    /// Gives the message back: requeued (to any consumer) or, with `requeue: false`,
    /// dead-lettered or dropped according to the queue's settings.
    public func nack(requeue: Bool) async throws(AMQPError) {
        try await settler.settle(tag, .nack(requeue: requeue))
    }

    /// Whether the channel this delivery came on is still the one open: false after a reconnect
    /// or a channel reopening, when the broker has already handed the message out again.
    public func isLive() async -> Bool {
        await settler.isLive(tag)
    }

    /// Acks `deliveries` with one `basic.ack` (`multiple`) per channel, for the newest of them:
    /// only for a consumer that has settled every earlier delivery of the channel already or
    /// settles it here (a batch consumer that handles what it received in order). Returns the
    /// error of each, in order (nil: acked).
    public static func ackThrough(_ deliveries: [AMQPDelivery]) async -> [AMQPError?] {
        struct Channel: Hashable {
            let owner: ObjectIdentifier
            let number: UInt16
            let generation: UInt64
            init(_ delivery: AMQPDelivery) {
                owner = delivery.settler.owner
                number = delivery.tag.channel
                generation = delivery.tag.channelGeneration
            }
        }
        var newest: [Channel: Int] = [:]
        for (index, delivery) in deliveries.enumerated() {
            let channel = Channel(delivery)
            if let known = newest[channel], deliveries[known].tag.value >= delivery.tag.value { continue }
            newest[channel] = index
        }
        var outcomes = [AMQPError?](repeating: nil, count: deliveries.count)
        for (channel, index) in newest {
            do throws(AMQPError) {
                try await deliveries[index].settler.settle(deliveries[index].tag, .ackThrough)
            } catch {
                // Every delivery of that channel shares the outcome.
                for (other, delivery) in deliveries.enumerated() where Channel(delivery) == channel { outcomes[other] = error }
            }
        }
        return outcomes
    }

    /// As `nack`, with `basic.reject` (one message).
    public func reject(requeue: Bool) async throws(AMQPError) {
        try await settler.settle(tag, .reject(requeue: requeue))
    }
}

/// Identifies a delivery on the channel instance it came from; a reopened channel has a new
/// `channelGeneration`, so tags of the old one are recognised as stale.
struct DeliveryTag: Sendable, Hashable {
    let channel: UInt16
    let channelGeneration: UInt64
    let value: UInt64
}

/// How a delivery is settled.
enum Settlement: Sendable {
    case ack
    /// `basic.ack` with `multiple`: this delivery and every earlier one on its channel.
    case ackThrough
    case nack(requeue: Bool)
    case reject(requeue: Bool)
}

/// The owner of the channel a delivery came on.
protocol DeliverySettler: Sendable {
    func settle(_ tag: DeliveryTag, _ settlement: Settlement) async throws(AMQPError)
    func isLive(_ tag: DeliveryTag) async -> Bool
    /// Identifies the connection the deliveries belong to.
    var owner: ObjectIdentifier { get }
}

/// What happens to a client's connection, for logs, metrics and tests.
public enum AMQPEvent: Sendable, Equatable {
    /// Connected (or reconnected); `attempt` counts connections made by this client, from 1.
    case connected(attempt: Int)
    /// The connection died; the client will reconnect.
    case disconnected(AMQPError)
    /// The topology and consumers were declared again after a reconnect.
    case recovered
    /// The broker cancelled the consumer on `queue` (e.g. the queue was deleted).
    case consumerCancelled(queue: String)
    /// The broker closed a channel; the client reopened it.
    case channelClosed(channel: UInt16, AMQPError)
    /// The broker stopped reading from this connection (memory or disk alarm), or resumed.
    case blocked(reason: String)
    case unblocked
    /// The client was closed by its owner.
    case closed
}
