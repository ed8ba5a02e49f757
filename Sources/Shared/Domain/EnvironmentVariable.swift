/// A variable handed to a job's processes, declared on an environment, a pipeline, a stage or a
/// job (GoCD's `environment_variables` and `secure_variables`).
///
/// A secure value is redacted whenever the variable is encoded, unless the encoder's `userInfo`
/// holds `true` under ``revealSecureValuesKey``; so `relevo-scheduler validate --json` and logs
/// never show it, while a contract that must carry it says so explicitly.
public struct EnvironmentVariable: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The variable's name as the process sees it.
    public var name: String
    /// The value; for a secure variable, the value exactly as written in the config.
    public var value: String
    /// Whether the value is a secret (declared under `secure_variables`).
    public var secure: Bool

    /// What an encoded or printed secure value looks like.
    public static let redactedValue = "******"

    /// The `userInfo` key that, set to `true`, makes encoding keep secure values.
    public static let revealSecureValuesKey = CodingUserInfoKey(rawValue: "relevo.revealSecureValues")!

    /// Creates a variable.
    public init(name: String, value: String, secure: Bool = false) {
        self.name = name
        self.value = value
        self.secure = secure
    }

    /// `NAME=value`, with a secure value redacted.
    public var description: String {
        "\(name)=\(secure ? Self.redactedValue : value)"
    }

    private enum CodingKeys: String, CodingKey {
        case name, value, secure
    }

    /// Encodes the variable, redacting a secure value unless the encoder asks to reveal it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(secure, forKey: .secure)
        let reveal = encoder.userInfo[Self.revealSecureValuesKey] as? Bool ?? false
        try container.encode(secure && !reveal ? Self.redactedValue : value, forKey: .value)
    }

    /// Decodes a variable; `secure` defaults to `false`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        value = try container.decode(String.self, forKey: .value)
        secure = try container.decodeIfPresent(Bool.self, forKey: .secure) ?? false
    }
}
