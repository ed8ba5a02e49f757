import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Shared

/// The agent's credential, which signs its events: kept in `<work dir>/agent.credential`
/// (0600) once the scheduler gave it. Without one the agent registers over HTTP: with the
/// registration key it gets one at once; without, it waits (asking again every few seconds)
/// until an administrator approves it, proving it is the agent that asked by a nonce of its own
/// (`<work dir>/agent.nonce`, kept across restarts while it waits). To register an agent again,
/// delete its `agent.credential`.
struct AgentRegistration {
    let settings: WorkerSettings
    let identity: AgentIdentity
    let logger: Logger

    var directory: URL { URL(fileURLWithPath: settings.workDirectory) }
    var credentialFile: URL { directory.appendingPathComponent("agent.credential") }
    var nonceFile: URL { directory.appendingPathComponent("agent.nonce") }

    /// The scheduler refuses the agent for good.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The scheduler could not answer now.
    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    /// The credential, registering first if there is none; returns once there is one.
    func credential() async throws -> [UInt8] {
        if let text = try? String(contentsOf: credentialFile, encoding: .utf8) {
            guard let key = EventSignature.credential(fromHex: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw Failure(description: "\(credentialFile.path) holds no credential; delete it to register this agent again")
            }
            return key
        }
        let nonce = try self.nonce()
        var failures = 0
        var lastNotice = ContinuousClock.now - .seconds(60)
        while true {
            do {
                if let credential = try await register(nonce: nonce) {
                    try write(credential + "\n", to: credentialFile)
                    try? FileManager.default.removeItem(at: nonceFile)
                    logger.info("agent registered", metadata: ["uuid": "\(identity.uuid)"])
                    guard let key = EventSignature.credential(fromHex: credential) else {
                        throw Failure(description: "the scheduler gave a credential that is not 64 hex digits")
                    }
                    return key
                }
                failures = 0
                if ContinuousClock.now - lastNotice >= .seconds(30) {
                    logger.notice("waiting for an administrator to approve this agent (or set registration_key)",
                                  metadata: ["name": "\(identity.name)", "uuid": "\(identity.uuid)", "server": "\(settings.serverURL)"])
                    lastNotice = ContinuousClock.now
                }
                try await Task.sleep(for: .seconds(3))
            } catch let failure as Failure {
                throw failure
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failures += 1
                let delay = AMQPSettings.ReconnectPolicy().delay(attempt: failures)
                logger.warning("registration failed; trying again", metadata: ["error": "\(error)", "retryIn": "\(delay)"])
                try await Task.sleep(for: delay)
            }
        }
    }

    /// One registration request: the credential, nil while pending; throws a ``Failure`` when
    /// the scheduler refuses the agent for good (wrong key, taken identity).
    private func register(nonce: String) async throws -> String? {
        struct Body: Encodable {
            let uuid, hostname, nonce: String
            let resources, environments: [String]
            let registration_key: String?
        }
        struct Reply: Decodable {
            let state: String?
            let credential: String?
            let message: String?
        }
        var request = HTTPClientRequest(url: settings.serverURL + "/api/agents/register")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = Body(uuid: identity.uuid, hostname: identity.name, nonce: nonce, resources: identity.resources,
                        environments: identity.environments, registration_key: settings.registrationKey)
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        let response = try await ServerHTTPClient.trusting(settings.serverCAFile).execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let reply = try? JSONDecoder().decode(Reply.self, from: Data(bytes.readableBytesView))
        switch response.status.code {
        case 200:
            guard let credential = reply?.credential else { throw Failure(description: "the scheduler approved the agent but sent no credential") }
            return credential
        case 202:
            return nil
        case 400, 403, 409:
            throw Failure(description: "registration refused (HTTP \(response.status.code)): \(reply?.message ?? "no reason given")")
        default:
            // The scheduler is starting, busy or behind a proxy that failed: ask again.
            throw Unavailable(description: "HTTP \(response.status.code): \(reply?.message ?? "")")
        }
    }

    /// The nonce of this agent's registration, made once and kept while it waits.
    private func nonce() throws -> String {
        if let text = try? String(contentsOf: nonceFile, encoding: .utf8) {
            let nonce = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if nonce.count >= 32 { return nonce }
        }
        let nonce = AgentRegistration.randomHex(32)
        try write(nonce + "\n", to: nonceFile)
        return nonce
    }

    private func write(_ text: String, to file: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: file.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw Failure(description: "cannot write \(file.path)")
        }
    }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in
            let text = String(UInt8.random(in: .min ... .max, using: &generator), radix: 16)
            return text.count == 1 ? "0" + text : text
        }.joined()
    }
}
