/// A value in an AMQP field table (message headers, queue arguments, client properties).
public enum AMQPValue: Sendable, Hashable, CustomStringConvertible {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    /// Seconds since the epoch, as AMQP timestamps are.
    case timestamp(UInt64)
    case table([String: AMQPValue])
    case array([AMQPValue])
    case void

    /// The integer, if this is one (RabbitMQ sends counters such as `x-delivery-count` as integers
    /// of varying width; all arrive here as `.int`).
    public var intValue: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The text, if this is a string (or UTF-8 bytes).
    public var stringValue: String? {
        switch self {
        case .string(let value): return value
        case .bytes(let value): return String(validating: value, as: UTF8.self)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .bool(let value): return String(value)
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .string(let value): return value
        case .bytes(let value): return "<\(value.count) bytes>"
        case .timestamp(let value): return "@\(value)"
        case .table(let value): return value.description
        case .array(let value): return value.description
        case .void: return "void"
        }
    }
}

extension AMQPValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
