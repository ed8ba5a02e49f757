/// A chunk of a child's output, as read from one of its pipes.
public struct ProcessOutput: Sendable, Equatable {
    /// The pipe a chunk was read from.
    public enum Source: String, Sendable, Equatable, Hashable {
        /// The child's standard output.
        case stdout
        /// The child's standard error.
        case stderr
    }

    /// The pipe the bytes were read from.
    public var source: Source
    /// The bytes, exactly as read; a chunk may end in the middle of a line or of a UTF-8 character.
    public var bytes: [UInt8]

    /// Creates a chunk.
    public init(source: Source, bytes: [UInt8]) {
        self.source = source
        self.bytes = bytes
    }

    /// The bytes decoded as UTF-8, invalid sequences repaired.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
