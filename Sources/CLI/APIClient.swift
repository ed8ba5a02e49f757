import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// The REST API over HTTP or HTTPS; every failure becomes a message on stderr and the
/// documented exit code. An HTTPS server whose certificate a CA of the operator's own signed is
/// trusted through `caFile` (PEM), as workers do with `server_ca_file`; otherwise the system's CAs.
struct APIClient: Sendable {
    let base: String
    let token: String?
    var caFile: String? = nil

    struct Reply {
        let status: Int
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }

        func object() throws -> [String: Any] {
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                printError("relevo: the server answered something that is not a JSON object: \(text.prefix(200))")
                throw ExitCode(4)
            }
            return object
        }
    }

    func send(_ method: String, _ path: String, body: Data? = nil) async throws -> Reply {
        guard let url = URL(string: base + path) else {
            printError("relevo: '\(base + path)' is not a URL")
            throw ExitCode(64)
        }
        guard url.scheme == "http" || url.scheme == "https" else {
            printError("relevo: the server must be an http:// or https:// URL, not '\(base)'")
            throw ExitCode(64)
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let data: Data
        let status: Int
        do {
            let response = try await Self.http(trusting: caFile).execute(request, timeout: .seconds(60))
            status = Int(response.status.code)
            data = Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        } catch {
            printError("relevo: cannot reach \(base): \(error)")
            throw ExitCode(4)
        }
        let reply = Reply(status: status, body: data)
        guard (200..<300).contains(status) else {
            let message = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["message"] as? String ?? reply.text
            printError("relevo: \(method) \(path): \(status) \(message)")
            switch status {
            case 404: throw ExitCode(3)
            case 400..<500: throw ExitCode(2)
            default: throw ExitCode(4)
            }
        }
        return reply
    }

    private static let clients = Mutex<[String: HTTPClient]>([:])

    /// The shared client (system CAs), or one that trusts exactly `caFile`; made once, kept for
    /// the life of the process.
    private static func http(trusting caFile: String?) -> HTTPClient {
        guard let caFile else { return .shared }
        return clients.withLock { clients in
            if let client = clients[caFile] { return client }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
            clients[caFile] = client
            return client
        }
    }
}
