public import Foundation
internal import COpenSSL

/// GoCD's encryption of secure values, so that values encrypted by a GoCD server (with its
/// `cipher.aes`) or by GoCD's file-based secrets plugin work here unchanged: AES-128-CBC with
/// PKCS#5 padding, a random 16-byte IV per value, written `AES:<base64 IV>:<base64 ciphertext>`.
public struct GoCipher: Sendable {
    /// The 16-byte key.
    public let key: [UInt8]

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public init(key: [UInt8]) throws(Failure) {
        guard key.count == 16 else { throw Failure(description: "an AES key is 16 bytes, not \(key.count)") }
        self.key = key
    }

    /// A key as GoCD's `cipher.aes` holds it: 32 hex digits.
    public init(hexKey: String) throws(Failure) {
        let text = hexKey.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.count == 32, let bytes = Self.bytes(ofHex: text) else {
            throw Failure(description: "a cipher key is 32 hex digits (GoCD's cipher.aes)")
        }
        try self.init(key: bytes)
    }

    /// A new random key.
    public static func generateKey() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Whether `text` has the form of an encrypted value (`AES:…:…`).
    public static func isEncrypted(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0] == "AES" && !parts[1].isEmpty && !parts[2].isEmpty
    }

    /// `plaintext` encrypted, as `AES:<IV>:<ciphertext>`.
    public func encrypt(_ plaintext: String) -> String {
        let iv = Self.generateKey()
        let sealed = (try? crypt(Array(plaintext.utf8), iv: iv, encrypting: true)) ?? []
        return "AES:\(Data(iv).base64EncodedString()):\(Data(sealed).base64EncodedString())"
    }

    /// The plaintext of an `AES:<IV>:<ciphertext>` value; throws if it is not one or this key
    /// cannot open it (a value encrypted with another server's key).
    public func decrypt(_ text: String) throws(Failure) -> String {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "AES", let iv = Data(base64Encoded: String(parts[1])), iv.count == 16,
              let sealed = Data(base64Encoded: String(parts[2])), !sealed.isEmpty else {
            throw Failure(description: "not an encrypted value (expected AES:<base64 IV>:<base64 ciphertext>)")
        }
        let opened = try crypt(Array(sealed), iv: Array(iv), encrypting: false)
        guard let plaintext = String(bytes: opened, encoding: .utf8) else {
            throw Failure(description: "the value does not decrypt to text with this key (encrypted with another key?)")
        }
        return plaintext
    }

    private func crypt(_ input: [UInt8], iv: [UInt8], encrypting: Bool) throws(Failure) -> [UInt8] {
        guard let context = EVP_CIPHER_CTX_new() else { throw Failure(description: "OpenSSL cannot make a cipher context") }
        defer { EVP_CIPHER_CTX_free(context) }
        var output = [UInt8](repeating: 0, count: input.count + 32)
        var written: Int32 = 0
        var final: Int32 = 0
        let ok = key.withUnsafeBufferPointer { key in
            iv.withUnsafeBufferPointer { iv in
                input.withUnsafeBufferPointer { input in
                    output.withUnsafeMutableBufferPointer { output -> Bool in
                        guard EVP_CipherInit_ex(context, EVP_aes_128_cbc(), nil, key.baseAddress, iv.baseAddress, encrypting ? 1 : 0) == 1,
                              EVP_CipherUpdate(context, output.baseAddress, &written, input.baseAddress, Int32(input.count)) == 1
                        else { return false }
                        return EVP_CipherFinal_ex(context, output.baseAddress! + Int(written), &final) == 1
                    }
                }
            }
        }
        guard ok else { throw Failure(description: "the value does not decrypt with this key (encrypted with another key?)") }
        return Array(output[0..<Int(written + final)])
    }

    static func bytes(ofHex text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) ?? text.endIndex
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    /// The key in hex, as `cipher.aes` holds it.
    public var hexKey: String { key.map { String(format: "%02x", $0) }.joined() }
}

/// A secrets file of GoCD's file-based secrets plugin (`secrets.json`): a base64 AES key and each
/// secret encrypted with it, `{"secret_key": "…", "secrets": {"name": "AES:…:…"}}`. Made and
/// edited with the plugin's own command line (`java -jar gocd-file-based-secrets-plugin.jar add
/// -f secrets.json -n NAME -v VALUE`) or ``SecretsFile/adding(_:value:)``.
public struct SecretsFile: Sendable, Equatable, Codable {
    public var secretKey: String
    public var secrets: [String: String]

    enum CodingKeys: String, CodingKey {
        case secretKey = "secret_key"
        case secrets
    }

    public init(secretKey: String, secrets: [String: String] = [:]) {
        self.secretKey = secretKey
        self.secrets = secrets
    }

    /// A new, empty file with a fresh key.
    public static func new() -> SecretsFile {
        SecretsFile(secretKey: Data(GoCipher.generateKey()).base64EncodedString())
    }

    public static func load(_ path: String) throws(GoCipher.Failure) -> SecretsFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GoCipher.Failure(description: "cannot read the secrets file \(path)")
        }
        do {
            return try JSONDecoder().decode(SecretsFile.self, from: data)
        } catch {
            throw GoCipher.Failure(description: "\(path) is not a secrets file ({\"secret_key\": …, \"secrets\": {…}}): \(error)")
        }
    }

    private func cipher() throws(GoCipher.Failure) -> GoCipher {
        guard let key = Data(base64Encoded: secretKey) else { throw GoCipher.Failure(description: "its secret_key is not base64") }
        return try GoCipher(key: Array(key))
    }

    /// The value of secret `name`, or nil if the file has none of that name.
    public func value(of name: String) throws(GoCipher.Failure) -> String? {
        guard let sealed = secrets[name] else { return nil }
        return try cipher().decrypt(sealed)
    }

    /// The file with secret `name` set to `value` (encrypted).
    public func adding(_ name: String, value: String) throws(GoCipher.Failure) -> SecretsFile {
        var file = self
        file.secrets[name] = try cipher().encrypt(value)
        return file
    }
}
