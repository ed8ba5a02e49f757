import Foundation
import Hummingbird
import HTTPTypes
import Logging
import Shared

/// Bearer tokens with roles. With no tokens configured every caller is an admin (a server on
/// loopback for one person); with tokens, a request without a valid one gets 401 and a request
/// beyond its role 403, both as JSON.
///
/// Open to all: `/go/api/v1/health`, `/repos/` (package repositories for yum/dnf) and the
/// webhooks (they check their own signature). Artifact uploads carry the job's token (checked by
/// their route); a worker fetching artifacts shows its job's token and locator.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = RelevoRequestContext
    let tokens: APITokens?
    let artifacts: ArtifactStore
    /// Where a job token's job is looked up (its token expires when it completes).
    let queries: any SchedulerQueries
    let logger: Logger
    /// The dashboard's sign-ins: the cookie names one of these, not a token.
    var sessions = SignInSessions()
    /// What a job's artifact token may read (``SchedulerEngine/artifactReadGrants(of:)``).
    var readGrants: @Sendable (ArtifactLocator) async -> [ArtifactReadGrant] = { _ in [] }

    static let attemptHeader = HTTPField.Name(ArtifactLocator.attemptHeader)!

    /// The sign-in cookie: a session id (see ``SignInSessions``).
    static let cookie = "relevo_session"
    static let jobHeader = HTTPField.Name("X-Relevo-Job")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        // Decided on the path as the router reads it: empty segments dropped and escapes
        // decoded, so that `/go//api/agents` or `/go/%61pi/agents` cannot pass for another route.
        let path = Self.canonicalPath(request.uri.path)
        guard let tokens else {
            context.user = .open
            return try await next(request, context)
        }
        if Self.isPublic(path, method: request.method) {
            context.user = APIUser(name: "anonymous", role: .viewer, groups: [])
            return try await next(request, context)
        }
        guard let presented = Self.token(of: request, sessions: sessions) else {
            if request.method == .get, !path.hasPrefix("/go/"), path != "/metrics" {
                // A person opening the dashboard: the sign-in page.
                var headers = HTTPFields()
                headers[.location] = "/login"
                return Response(status: .seeOther, headers: headers)
            }
            return APIRoutes.json(MessageJSON(message: "authentication required: send 'Authorization: Bearer <token>'"), status: .unauthorized)
        }
        if let user = tokens.user(for: presented) {
            let needed = Self.role(for: request.method, path: path)
            guard user.role >= needed else {
                logger.notice("request refused: role too low", metadata: ["user": "\(user.name)", "role": "\(user.role.rawValue)", "path": "\(path)"])
                let article = { (role: APIRole) in role == .viewer ? "a" : "an" }
                return APIRoutes.json(MessageJSON(message: "'\(user.name)' is \(article(user.role)) \(user.role.rawValue); this needs \(article(needed)) \(needed.rawValue)"), status: .forbidden)
            }
            context.user = user
            return try await next(request, context)
        }
        // A worker fetching artifacts with its job's token: the token of one attempt, valid while
        // that attempt runs, for what its fetch tasks resolved to.
        if request.method == .get, path.hasPrefix("/go/files/"), let job = request.headers[Self.jobHeader],
           let locator = Self.locator(job), let attempt = request.headers[Self.attemptHeader].flatMap({ Int($0) }),
           artifacts.accepts(token: presented, for: locator, attempt: attempt) {
            guard let run = try await ArtifactRoutes.jobRun(at: locator, in: queries), run.state != .completed, !run.isCopy,
                  run.attempt == attempt else {
                logger.notice("request refused: the attempt of this token is not running", metadata: ["job": "\(locator)#\(attempt)", "path": "\(path)"])
                return APIRoutes.json(MessageJSON(message: "the token of attempt \(attempt) of \(locator) expired: that attempt is not running"),
                                      status: .unauthorized)
            }
            let grants = await readGrants(locator)
            guard let target = ArtifactReadGrant.target(ofPath: path), grants.contains(where: { $0.allows(target.locator, path: target.path) }) else {
                logger.warning("request refused: outside the job's fetches", metadata: ["job": "\(locator)#\(attempt)", "path": "\(path)"])
                let allowed = grants.isEmpty ? "nothing (the job has no fetch task)" : grants.map(\.description).joined(separator: ", ")
                return APIRoutes.json(MessageJSON(message: "the token of \(locator) reads only what its fetch tasks name: \(allowed)"), status: .forbidden)
            }
            context.user = APIUser(name: "job \(locator)", role: .viewer, groups: [])
            return try await next(request, context)
        }
        logger.notice("request refused: unknown token", metadata: ["path": "\(path)"])
        return APIRoutes.json(MessageJSON(message: "the token is not valid"), status: .unauthorized)
    }

    /// `path` with empty segments dropped and each segment percent-decoded.
    static func canonicalPath(_ path: String) -> String {
        "/" + path.split(separator: "/", omittingEmptySubsequences: true)
            .map { $0.removingPercentEncoding ?? String($0) }.joined(separator: "/")
    }

    static func isPublic(_ path: String, method: HTTPRequest.Method) -> Bool {
        path == "/go/api/v1/health" || path == "/repos" || path.hasPrefix("/repos/") || path.hasPrefix("/go/api/webhooks/github/")
            || path.hasPrefix("/go/api/webhooks/gitlab/") || (method == .put && path.hasPrefix("/go/files/"))
            || path == "/login" || path == "/logout" || path.hasPrefix("/assets/")
            // Agents register with the registration key, or wait for an administrator's approval.
            || (method == .post && path == "/go/api/agents/register")
            // An agent's signature authenticates its request for a job's secure variables.
            || (method == .post && path == "/go/api/agents/job_secrets")
    }

    /// Reading needs a viewer; changing things an operator; agents and the admin routes an admin.
    static func role(for method: HTTPRequest.Method, path: String) -> APIRole {
        if method == .get || method == .head { return .viewer }
        if path.hasPrefix("/go/api/agents") || path.hasPrefix("/go/api/admin") { return .admin }
        return .operator
    }

    /// The bearer token of `request`, or the token of its sign-in session's cookie (nil when the
    /// session is unknown or has expired: the user signs in again).
    static func token(of request: Request, sessions: SignInSessions) -> String? {
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        return sessionID(of: request).flatMap(sessions.token(for:))
    }

    /// The session id in the sign-in cookie of `request`.
    static func sessionID(of request: Request) -> String? {
        for cookies in request.headers[values: .cookie] {
            for pair in cookies.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, parts[0] == cookie { return parts[1] }
            }
        }
        return nil
    }

    private static func locator(_ text: String) -> ArtifactLocator? {
        let parts = text.split(separator: "/").map(String.init)
        guard parts.count == 5, let counter = Int(parts[1]), let stageCounter = Int(parts[3]) else { return nil }
        return ArtifactLocator(pipeline: parts[0], pipelineCounter: counter, stage: parts[2], stageCounter: stageCounter, job: parts[4])
    }
}
