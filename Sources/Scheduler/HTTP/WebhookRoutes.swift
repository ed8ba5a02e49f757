import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Shared

/// Push notifications, so that a push starts its pipelines at once instead of at the next poll
/// (materials with `auto_update: false` are started only this way, as in GoCD):
///
/// - `POST /go/api/webhooks/github/notify`: GitHub's `push` event, signed with HMAC-SHA256 of
///   the body under the webhook secret (`X-Hub-Signature-256: sha256=<hex>`);
/// - `POST /go/api/webhooks/gitlab/notify`: GitLab's `Push Hook`, with `X-Gitlab-Token`;
/// - `POST /go/api/webhooks/notify`: `{"repository_url": "...", "branch": "main"}` from anything
///   else, with an operator's API token.
///
/// A bad signature or token is refused with 401 and logged, and starts nothing.
struct WebhookRoutes {
    let engine: SchedulerEngine
    let secret: String?
    let logger: Logger
    /// Config repositories, refreshed by a push to their repository too.
    var configRepos: ConfigRepositories?

    func register(on router: Router<RelevoRequestContext>) {
        router.post("/go/api/webhooks/github/notify") { request, _ in
            let body = try await request.body.collect(upTo: 8 << 20)
            let bytes = Array(body.readableBytesView)
            try verify(signature: request.headers[HTTPField.Name("X-Hub-Signature-256")!], of: bytes, source: "github")
            let event = request.headers[HTTPField.Name("X-GitHub-Event")!] ?? "push"
            if event == "ping" { return APIRoutes.json(MessageJSON(message: "pong")) }
            guard event == "push" else { return APIRoutes.json(MessageJSON(message: "ignored: event '\(event)'"), status: .accepted) }
            let push = try Self.decode(GitHubPush.self, bytes)
            let urls = [push.repository.clone_url, push.repository.html_url, push.repository.ssh_url, push.repository.git_url].compactMap { $0 }
            return try await notify(urls: urls, ref: push.ref, source: "github")
        }

        router.post("/go/api/webhooks/gitlab/notify") { request, _ in
            let body = try await request.body.collect(upTo: 8 << 20)
            guard let secret else { throw unsigned("gitlab", "no webhook_secret is configured on this server") }
            guard let token = request.headers[HTTPField.Name("X-Gitlab-Token")!], SHA256.constantTimeEquals(token, secret) else {
                throw unsigned("gitlab", "missing or wrong X-Gitlab-Token")
            }
            let push = try Self.decode(GitLabPush.self, Array(body.readableBytesView))
            let urls = [push.project?.git_http_url, push.project?.git_ssh_url, push.project?.web_url, push.project?.http_url,
                        push.repository?.git_http_url, push.repository?.git_ssh_url, push.repository?.url, push.repository?.homepage].compactMap { $0 }
            return try await notify(urls: urls, ref: push.ref, source: "gitlab")
        }

        router.post("/go/api/webhooks/notify") { request, _ in
            guard let notice = try await APIRoutes.decodeBody(GenericNotice.self, from: request, allowEmpty: false) else {
                throw APIError(.badRequest, "a JSON body with repository_url is required")
            }
            return try await notify(urls: [notice.repository_url], ref: notice.branch.map { "refs/heads/\($0)" }, source: "generic")
        }
    }

    private func verify(signature: String?, of body: [UInt8], source: String) throws {
        guard let secret else { throw unsigned(source, "no webhook_secret is configured on this server") }
        guard let signature, signature.hasPrefix("sha256=") else { throw unsigned(source, "missing X-Hub-Signature-256") }
        let expected = "sha256=" + SHA256.hmacHex(key: Array(secret.utf8), bytes: body)
        guard SHA256.constantTimeEquals(signature.lowercased(), expected) else { throw unsigned(source, "the signature does not match") }
    }

    private func unsigned(_ source: String, _ reason: String) -> APIError {
        logger.warning("webhook refused", metadata: ["source": "\(source)", "reason": "\(reason)"])
        return APIError(.unauthorized, "webhook refused: \(reason)")
    }

    private func notify(urls: [String], ref: String?, source: String) async throws -> Response {
        guard !urls.isEmpty else { throw APIError(.badRequest, "the payload names no repository") }
        let branch = ref.map { $0.hasPrefix("refs/heads/") ? String($0.dropFirst("refs/heads/".count)) : $0 }
        await configRepos?.poll(urls: urls)
        let started = await engine.materialsPushed(urls: urls, branch: branch)
        logger.info("webhook received", metadata: ["source": "\(source)", "repository": "\(GitURL.redacted(urls[0]))",
                                                   "branch": "\(branch ?? "any")", "started": "\(started)"])
        return APIRoutes.json(WebhookJSON(message: started.isEmpty ? "no pipeline started" : "started \(started.joined(separator: ", "))",
                                          pipelines: started), status: .accepted)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
            throw APIError(.badRequest, "the payload is not valid: \(error)")
        }
    }
}

struct GitHubPush: Decodable {
    struct Repository: Decodable {
        let clone_url: String?
        let html_url: String?
        let ssh_url: String?
        let git_url: String?
    }
    let ref: String?
    let repository: Repository
}

struct GitLabPush: Decodable {
    struct Project: Decodable {
        let git_http_url: String?
        let git_ssh_url: String?
        let web_url: String?
        let http_url: String?
    }
    struct Repository: Decodable {
        let git_http_url: String?
        let git_ssh_url: String?
        let url: String?
        let homepage: String?
    }
    let ref: String?
    let project: Project?
    let repository: Repository?
}

struct GenericNotice: Decodable {
    let repository_url: String
    let branch: String?
}

struct WebhookJSON: Encodable {
    let message: String
    let pipelines: [String]
}
