import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The REST API over HTTP; every failure becomes a message on stderr and the documented exit code.
struct APIClient: Sendable {
    let base: String
    let token: String?

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
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 60
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            printError("relevo: cannot reach \(base): \(error.localizedDescription)")
            throw ExitCode(4)
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
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
}
