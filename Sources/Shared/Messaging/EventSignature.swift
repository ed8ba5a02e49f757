/// How a worker's events are authenticated: each carries the agent's UUID and an HMAC-SHA256 of
/// its body under the agent's own credential (given by the scheduler when the agent registered),
/// in two AMQP headers. Anyone who can publish to the broker but holds no agent's credential
/// cannot make an event the scheduler applies.
public enum EventSignature {
    /// The UUID of the agent that signed the event.
    public static let agentHeader = "x-relevo-agent"
    /// Hex HMAC-SHA256 of the body under the agent's credential.
    public static let signatureHeader = "x-relevo-signature"

    /// The signature of `body` under `credential`.
    public static func sign(_ body: [UInt8], credential: [UInt8]) -> String {
        SHA256.hmacHex(key: credential, bytes: body)
    }

    /// A credential in its text form (64 hex digits) as bytes; nil if it is not one.
    public static func credential(fromHex text: String) -> [UInt8]? {
        let hex = Array(text.utf8)
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < hex.count {
            guard let high = Self.nibble(hex[index]), let low = Self.nibble(hex[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
