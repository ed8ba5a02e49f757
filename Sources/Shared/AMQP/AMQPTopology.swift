/// An exchange as Relevo declares it. Each exchange's settings are defined in one place (the
/// messaging layer's catalogue), because re-declaring with other settings closes the channel.
public struct ExchangeDefinition: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case direct, fanout, topic, headers }

    public var name: String
    public var kind: Kind
    public var durable: Bool
    public var autoDelete: Bool
    public var arguments: [String: AMQPValue]

    public init(name: String, kind: Kind = .direct, durable: Bool = true, autoDelete: Bool = false,
                arguments: [String: AMQPValue] = [:]) {
        self.name = name
        self.kind = kind
        self.durable = durable
        self.autoDelete = autoDelete
        self.arguments = arguments
    }
}

/// A queue as Relevo declares it, with the broker arguments spelled out as typed fields so that
/// they are written the same way every time.
public struct QueueDefinition: Sendable, Hashable {
    /// `x-queue-type`.
    public enum Kind: String, Sendable, Hashable { case classic, quorum }

    public var name: String
    public var kind: Kind
    public var durable: Bool
    public var exclusive: Bool
    public var autoDelete: Bool
    /// `x-single-active-consumer`: one consumer receives at a time; the next takes over when it goes.
    public var singleActiveConsumer: Bool
    /// `x-dead-letter-exchange` and `x-dead-letter-routing-key`.
    public var deadLetterExchange: String?
    public var deadLetterRoutingKey: String?
    /// `x-delivery-limit` (quorum queues): after this many redeliveries the message is dead-lettered.
    public var deliveryLimit: Int?
    /// Anything else, passed through unchanged.
    public var extraArguments: [String: AMQPValue]

    public init(name: String, kind: Kind = .classic, durable: Bool = true, exclusive: Bool = false,
                autoDelete: Bool = false, singleActiveConsumer: Bool = false,
                deadLetterExchange: String? = nil, deadLetterRoutingKey: String? = nil,
                deliveryLimit: Int? = nil, extraArguments: [String: AMQPValue] = [:]) {
        self.name = name
        self.kind = kind
        self.durable = durable
        self.exclusive = exclusive
        self.autoDelete = autoDelete
        self.singleActiveConsumer = singleActiveConsumer
        self.deadLetterExchange = deadLetterExchange
        self.deadLetterRoutingKey = deadLetterRoutingKey
        self.deliveryLimit = deliveryLimit
        self.extraArguments = extraArguments
    }

    /// The `queue.declare` arguments table.
    public var arguments: [String: AMQPValue] {
        var arguments = extraArguments
        if kind == .quorum { arguments["x-queue-type"] = .string("quorum") }
        if singleActiveConsumer { arguments["x-single-active-consumer"] = .bool(true) }
        if let deadLetterExchange { arguments["x-dead-letter-exchange"] = .string(deadLetterExchange) }
        if let deadLetterRoutingKey { arguments["x-dead-letter-routing-key"] = .string(deadLetterRoutingKey) }
        if let deliveryLimit { arguments["x-delivery-limit"] = .int(Int64(deliveryLimit)) }
        return arguments
    }
}

/// A binding of a queue to an exchange.
public struct BindingDefinition: Sendable, Hashable {
    public var queue: String
    public var exchange: String
    public var routingKey: String
    public var arguments: [String: AMQPValue]

    public init(queue: String, exchange: String, routingKey: String, arguments: [String: AMQPValue] = [:]) {
        self.queue = queue
        self.exchange = exchange
        self.routingKey = routingKey
        self.arguments = arguments
    }
}

/// A set of exchanges, queues and bindings, declared in that order. A client remembers what it
/// declared and declares it again after every reconnect.
public struct AMQPTopology: Sendable, Hashable {
    public var exchanges: [ExchangeDefinition]
    public var queues: [QueueDefinition]
    public var bindings: [BindingDefinition]

    public init(exchanges: [ExchangeDefinition] = [], queues: [QueueDefinition] = [], bindings: [BindingDefinition] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }

    /// `other` added to this topology; an exchange or queue of the same name is replaced.
    public func merging(_ other: AMQPTopology) -> AMQPTopology {
        var result = self
        for exchange in other.exchanges {
            result.exchanges.removeAll { $0.name == exchange.name }
            result.exchanges.append(exchange)
        }
        for queue in other.queues {
            result.queues.removeAll { $0.name == queue.name }
            result.queues.append(queue)
        }
        for binding in other.bindings where !result.bindings.contains(binding) {
            result.bindings.append(binding)
        }
        return result
    }

    /// This topology without the queue `name` and its bindings.
    public func removingQueue(_ name: String) -> AMQPTopology {
        var result = self
        result.queues.removeAll { $0.name == name }
        result.bindings.removeAll { $0.queue == name }
        return result
    }
}
