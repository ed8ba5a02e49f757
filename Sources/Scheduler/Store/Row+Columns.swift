import GRDB

/// Typed, throwing reads of the store's columns: a bad value becomes a ``StoreError`` with code
/// `corruptRow` instead of a crash.
extension Row {
    /// The column's value.
    func value<Value: DatabaseValueConvertible>(_ column: String) throws -> Value {
        try decode(Value.self, forColumn: column)
    }

    /// The column's text as one of a string enum's cases.
    func enumValue<Value: RawRepresentable>(_ column: String) throws -> Value where Value.RawValue == String {
        let text: String = try value(column)
        guard let value = Value(rawValue: text) else {
            throw StoreError(
                code: .corruptRow, operation: "read \(column)", message: "unexpected value '\(text)' in \(column)")
        }
        return value
    }

    /// The column's JSON text, decoded.
    func json<Value: Decodable>(_ column: String, as type: Value.Type = Value.self) throws -> Value {
        try JSONColumn.decode(type, from: try value(column) as String)
    }
}
