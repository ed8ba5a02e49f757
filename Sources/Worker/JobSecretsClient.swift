import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Shared

/// Fetches what a job message leaves out (secure values, the attempt's artifact token, material
/// credentials) from the scheduler once this agent holds the job (see ``JobSecretsRequest``). The request is signed with the agent's
/// credential, like its events.
struct JobSecretsClient: Sendable {
    let serverURL: String
    let agent: String
    let credential: [UInt8]
    let http: HTTPClient

    struct Refused: Error, CustomStringConvertible {
        let description: String
    }

    /// What `attempt`'s message left out. Retries a scheduler that cannot be
    /// reached or answers 5xx a few times; a refusal (4xx) is final and says why.
    func fetch(_ attempt: JobAttempt) async throws -> JobSecretsReply {
        var tries = 0
        while true {
            tries += 1
            do {
                return try await fetchOnce(attempt)
            } catch let refused as Refused {
                throw refused
            } catch {
                guard tries < 4, !Task.isCancelled else {
                    throw Refused(description: "cannot fetch the job's secrets from \(serverURL): \(error)")
                }
                try await Task.sleep(for: .milliseconds(250 * tries))
            }
        }
    }

    private struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    private func fetchOnce(_ attempt: JobAttempt) async throws -> JobSecretsReply {
        let body = MessageCodec.encode(JobSecretsRequest(agent: agent, attempt: attempt, sentAt: Int(Date().timeIntervalSince1970)))
        var request = HTTPClientRequest(url: serverURL + JobSecretsRequest.path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: JobSecretsRequest.signatureHeader, value: EventSignature.sign(body, credential: credential))
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = Data(try await response.body.collect(upTo: 4 << 20).readableBytesView)
        switch response.status.code {
        case 200:
            do {
                return try JSONDecoder().decode(JobSecretsReply.self, from: bytes)
            } catch {
                throw Refused(description: "the scheduler's answer to the request for the job's secrets is not valid: \(error)")
            }
        case 400..<500:
            struct Message: Decodable { let message: String? }
            let reason = (try? JSONDecoder().decode(Message.self, from: bytes))?.message ?? "no reason given"
            throw Refused(description: "the scheduler refused the job's secrets (HTTP \(response.status.code)): \(reason)")
        default:
            throw Unavailable(description: "HTTP \(response.status.code)")
        }
    }
}
