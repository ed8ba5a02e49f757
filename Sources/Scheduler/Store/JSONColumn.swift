import Foundation

/// How values are kept in the JSON text columns (material revisions, job plans, events,
/// resources): sorted keys, so equal values store equal text.
enum JSONColumn {
    /// The value as JSON text.
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A value read back from JSON text.
    static func decode<Value: Decodable>(_ type: Value.Type, from text: String) throws -> Value {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
