import Foundation
import Shared

/// Turns a secure value as written in the config into the value a job gets: GoCD's encrypted
/// values (`AES:…:…`, encrypted with this server's `cipher.aes`, or a GoCD server's copied here)
/// are decrypted, and `{{SECRET:[<config id>][<key>]}}` references are looked up in the secrets
/// files of GoCD's file-based secrets plugin that the settings name (`secret_configs`). The
/// plaintext exists only in the scheduler's memory and in the answer to the agent holding the job.
struct SecretResolver: Sendable {
    /// This server's key (`cipher.aes`); nil: encrypted values cannot be read.
    var cipher: GoCipher?
    /// Secret configs by id: the path of each one's secrets file.
    var configs: [String: String] = [:]

    struct Failure: Error, CustomStringConvertible, Equatable {
        let description: String
    }

    /// Whether `text` needs resolving.
    static func needsResolving(_ text: String) -> Bool {
        GoCipher.isEncrypted(text) || text.contains("{{SECRET:[")
    }

    /// The value of variable `name` written as `text`.
    func resolve(_ text: String, name: String) throws(Failure) -> String {
        var value = text
        if GoCipher.isEncrypted(value) {
            guard let cipher else { throw Failure(description: "secure variable \(name) is encrypted, and this server has no cipher key") }
            do {
                value = try cipher.decrypt(value)
            } catch {
                throw Failure(description: "secure variable \(name) cannot be decrypted with this server's cipher.aes: \(error)")
            }
        }
        var result = ""
        var rest = Substring(value)
        while let start = rest.range(of: "{{SECRET:[") {
            result += rest[..<start.lowerBound]
            let reference = rest[start.upperBound...]
            guard let idEnd = reference.range(of: "]["), let keyEnd = reference[idEnd.upperBound...].range(of: "]}}") else {
                throw Failure(description: "variable \(name): a secret reference is written {{SECRET:[<config id>][<key>]}}")
            }
            let id = String(reference[..<idEnd.lowerBound])
            let key = String(reference[idEnd.upperBound..<keyEnd.lowerBound])
            result += try lookUp(id: id, key: key, for: name)
            rest = reference[keyEnd.upperBound...]
        }
        return result + rest
    }

    private func lookUp(id: String, key: String, for name: String) throws(Failure) -> String {
        guard let path = configs[id] else {
            let known = configs.keys.sorted()
            throw Failure(description: "variable \(name) refers to secret config '\(id)', which the settings do not name "
                + "(secret_configs: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
        }
        do {
            guard let value = try SecretsFile.load(path).value(of: key) else {
                throw Failure(description: "variable \(name): secret config '\(id)' (\(path)) has no secret '\(key)'")
            }
            return value
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "variable \(name): secret config '\(id)' (\(path)): \(error)")
        }
    }

    /// The key in `file` (GoCD's `cipher.aes`: 32 hex digits), made with a random key if the file
    /// does not exist (readable by the owner only).
    static func loadOrCreateKey(_ file: String) throws(Failure) -> GoCipher {
        if let text = try? String(contentsOfFile: file, encoding: .utf8) {
            do { return try GoCipher(hexKey: text) } catch { throw Failure(description: "\(file): \(error)") }
        }
        let cipher: GoCipher
        do { cipher = try GoCipher(key: GoCipher.generateKey()) } catch { throw Failure(description: "\(error)") }
        guard FileManager.default.createFile(atPath: file, contents: Data((cipher.hexKey + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw Failure(description: "cannot write the cipher key \(file)")
        }
        return cipher
    }
}
