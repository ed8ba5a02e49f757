/// A position in a config file: the file's path relative to the loaded directory, and a
/// 1-based line and column.
public struct ConfigLocation: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// The file's path relative to the loaded directory, with `/` separators.
    public var file: String
    /// The line, from 1.
    public var line: Int
    /// The column, from 1, counted in Unicode scalars.
    public var column: Int

    /// Creates a location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`.
    public var description: String { "\(file):\(line):\(column)" }
}

/// Locations sort as a compiler lists its diagnostics.
extension ConfigLocation: Comparable {
    /// Orders by file, then line, then column.
    public static func < (lhs: ConfigLocation, rhs: ConfigLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}
