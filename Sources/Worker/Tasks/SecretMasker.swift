/// Replaces secure values with `******` in a stream of bytes, including a value split across
/// chunks: the end of a chunk that could be the start of a secret is held back until the next
/// chunk shows whether it is one.
struct SecretMasker: Sendable {
    /// What a secret becomes.
    static let replacement: [UInt8] = Array("******".utf8)

    /// The secrets as bytes, longest first so that a secret containing another is masked whole.
    private let secrets: [[UInt8]]
    /// Bytes held back because they may be the start of a secret.
    private var pending: [UInt8] = []

    /// Creates a masker; empty values are ignored (they would match everywhere).
    init(secrets: [String]) {
        let unique = Set(secrets.filter { !$0.isEmpty })
        self.secrets = unique.map { Array($0.utf8) }.sorted { $0.count > $1.count }
    }

    /// Whether there is anything to mask at all.
    var isEmpty: Bool { secrets.isEmpty }

    /// Masks `chunk` and returns what can be shown now.
    mutating func mask(_ chunk: [UInt8]) -> [UInt8] {
        guard !secrets.isEmpty else { return chunk }
        return process(pending + chunk, final: false)
    }

    /// Returns whatever was held back, masked; call when the stream ends.
    mutating func flush() -> [UInt8] {
        process(pending, final: true)
    }

    /// `text` with every secret replaced, in one go.
    static func mask(_ text: String, secrets: [String]) -> String {
        var masker = SecretMasker(secrets: secrets)
        guard !masker.isEmpty else { return text }
        let bytes = masker.mask(Array(text.utf8)) + masker.flush()
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func process(_ buffer: [UInt8], final: Bool) -> [UInt8] {
        pending = []
        var output: [UInt8] = []
        output.reserveCapacity(buffer.count)
        var index = 0
        scan: while index < buffer.count {
            let remaining = buffer.count - index
            // Hold back a tail that could still grow into a secret, before masking a shorter
            // secret inside it, so that no part of a longer secret ever escapes.
            if !final, secrets.contains(where: { $0.count > remaining && startsWith($0, buffer, at: index, length: remaining) }) {
                pending = Array(buffer[index...])
                break scan
            }
            for secret in secrets where secret.count <= remaining && startsWith(secret, buffer, at: index, length: secret.count) {
                output += Self.replacement
                index += secret.count
                continue scan
            }
            output.append(buffer[index])
            index += 1
        }
        return output
    }

    /// Whether `buffer[start..<start+length]` equals the first `length` bytes of `secret`.
    private func startsWith(_ secret: [UInt8], _ buffer: [UInt8], at start: Int, length: Int) -> Bool {
        for offset in 0..<length where buffer[start + offset] != secret[offset] { return false }
        return true
    }
}
