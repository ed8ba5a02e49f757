import Foundation

/// Turns contract values into message bodies and back. The encoder reveals secure values: a job
/// message has none left to reveal (the scheduler empties them before publishing), and the
/// secrets reply (``JobSecretsReply``) must carry them.
public enum MessageCodec {
    /// Why a message body could not be used; the consumer dead-letters it with this reason.
    public struct DecodingFailure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public static func encode(_ value: some Encodable) -> [UInt8] {
        // Keys in declaration order (not sorted: sorting every object costs, and nothing needs it).
        let encoder = JSONEncoder()
        encoder.userInfo[EnvironmentVariable.revealSecureValuesKey] = true
        do {
            return Array(try encoder.encode(value))
        } catch {
            // Encoding our own Codable structs cannot fail unless a type is broken.
            preconditionFailure("cannot encode \(type(of: value)): \(error)")
        }
    }

    /// A worker event's body (written directly: see ``JSONText``).
    public static func encodeEvent(_ event: WorkerEvent) -> [UInt8] {
        Array(event.jsonText.utf8)
    }

    public static func decodeJob(_ body: [UInt8]) throws(DecodingFailure) -> JobMessage {
        // Read directly (see ``JSONValue``); anything it does not take goes to JSONDecoder.
        let message: JobMessage
        if let direct = JobMessage(directJSON: body) { message = direct } else { message = try decode(body) }
        guard message.version == JobMessage.currentVersion else {
            throw DecodingFailure(description: "job message version \(message.version) is not supported (this worker understands \(JobMessage.currentVersion))")
        }
        return message
    }

    public static func decodeEvent(_ body: [UInt8]) throws(DecodingFailure) -> WorkerEvent {
        // Read directly (see ``JSONValue``); anything it does not take goes to JSONDecoder.
        if let event = WorkerEvent(directJSON: body) { return event }
        return try decode(body)
    }

    public static func decodeCatalog(_ body: [UInt8]) throws(DecodingFailure) -> QueueCatalogMessage {
        try decode(body)
    }

    static func decodeValue<T: Decodable>(_ body: [UInt8]) throws(DecodingFailure) -> T {
        try decode(body)
    }

    private static func decode<T: Decodable>(_ body: [UInt8]) throws(DecodingFailure) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch let DecodingError.dataCorrupted(context) {
            throw DecodingFailure(description: "not valid JSON for \(T.self): \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw DecodingFailure(description: "\(T.self) lacks '\(key.stringValue)' at \(path(context))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw DecodingFailure(description: "\(T.self): wrong type at \(path(context)): \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw DecodingFailure(description: "\(T.self): missing value at \(path(context))")
        } catch {
            throw DecodingFailure(description: "cannot decode \(T.self): \(error)")
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return path.isEmpty ? "the top level" : path
    }
}
