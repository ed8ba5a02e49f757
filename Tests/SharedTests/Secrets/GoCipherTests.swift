import Foundation
import Shared
import Testing

/// GoCD's encrypted values: AES-128-CBC, `AES:<base64 IV>:<base64 ciphertext>`.
@Suite struct GoCipherTests {
    static let key = try! GoCipher(hexKey: "000102030405060708090a0b0c0d0e0f\n")

    /// A value encrypted by another implementation (`openssl enc -aes-128-cbc -K 0001…0e0f
    /// -iv 0f0e…0100`), as GoCD writes it: the same key opens it.
    @Test func aValueEncryptedElsewhereWithTheSameKeyDecrypts() throws {
        #expect(try Self.key.decrypt("AES:Dw4NDAsKCQgHBgUEAwIBAA==:OTaMYH053g5njgkmgIGPRA==") == "badger")
    }

    @Test func encryptedValuesRoundTripWithAFreshIVEachTime() throws {
        let first = Self.key.encrypt("s3cr3t ünïcode")
        let second = Self.key.encrypt("s3cr3t ünïcode")
        #expect(first != second && GoCipher.isEncrypted(first))
        #expect(try Self.key.decrypt(first) == "s3cr3t ünïcode")
        #expect(try Self.key.decrypt(Self.key.encrypt("")) == "")
    }

    @Test func anotherKeyOrAnythingElseIsRefusedWithAReason() throws {
        let other = try GoCipher(key: GoCipher.generateKey())
        #expect(throws: GoCipher.Failure.self) { try other.decrypt(Self.key.encrypt("badger")) }
        #expect(throws: GoCipher.Failure.self) { try Self.key.decrypt("badger") }
        #expect(throws: GoCipher.Failure.self) { try Self.key.decrypt("AES:bm90IGFuIGl2:AAAA") }
        #expect(throws: GoCipher.Failure.self) { try GoCipher(hexKey: "abc") }
        #expect(!GoCipher.isEncrypted("AES::x") && !GoCipher.isEncrypted("plain"))
    }

    /// The file-based secrets plugin's `secrets.json`.
    @Test func aSecretsFileHoldsEncryptedSecretsUnderItsOwnKey() throws {
        let file = try SecretsFile.new().adding("db-password", value: "hunter2")
        let json = String(decoding: try JSONEncoder().encode(file), as: UTF8.self)
        #expect(json.contains("\"secret_key\"") && json.contains("\"AES:") && !json.contains("hunter2"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secrets-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        let loaded = try SecretsFile.load(path)
        #expect(try loaded.value(of: "db-password") == "hunter2")
        #expect(try loaded.value(of: "nope") == nil)
    }
}
