import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import RelevoTestSupport
import Shared
import Synchronization
import Testing

@testable import Scheduler

/// The dashboard's sign-in is a server-side session: the cookie names a random session id (never
/// the API token), expires, is `Secure` over HTTPS, and signing out ends it (issue #14).
@Suite struct SignInSessionTests {
    static let tokens = APITokens(entries: [("viewer-token-0123456789", APIUser(name: "vic", role: .viewer, groups: []))])

    static func withDashboard(secure: Bool = false, sessions: SignInSessions = SignInSessions(),
                              _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await SchedulerEngineTests.withEngine { engine, _, _ in
            let router = Router(context: RelevoRequestContext.self)
            router.add(middleware: JSONErrorMiddleware(logger: Logger(label: "test")))
            router.add(middleware: SameOriginMiddleware())
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-session-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: data) }
            let artifacts = try ArtifactStore(dataDirectory: data)
            router.add(middleware: AuthMiddleware(tokens: tokens, artifacts: artifacts, queries: engine.queries, logger: Logger(label: "test"),
                                                  sessions: sessions))
            DashboardRoutes(engine: engine, artifacts: artifacts, tokens: tokens, logger: Logger(label: "test"),
                            secureCookies: secure, sessions: sessions).register(on: router)
            APIRoutes(engine: engine, logger: Logger(label: "test")).register(on: router)
            try await Application(router: router).test(.router) { client in try await body(client) }
        }
    }

    static func signIn(_ client: any TestClientProtocol, token: String = "viewer-token-0123456789") async throws -> String? {
        try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                 body: ByteBuffer(string: "token=\(token)")) { response in
            response.headers[.setCookie]
        }
    }

    /// `relevo_session=<id>` of a `Set-Cookie` value.
    static func cookie(_ setCookie: String) -> String { String(setCookie.split(separator: ";")[0]) }

    @Test func signingInGivesASessionCookieThatHoldsNoTokenAndExpires() async throws {
        try await Self.withDashboard { client in
            let setCookie = try #require(try await Self.signIn(client))
            #expect(setCookie.hasPrefix("relevo_session="))
            #expect(!setCookie.contains("viewer-token"), "the cookie must not hold the API token: \(setCookie)")
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Max-Age=43200"))
            #expect(!setCookie.contains("Secure"), "not Secure over plain HTTP")
            try await client.execute(uri: "/go/api/pipelines/app/history", method: .get, headers: [.cookie: Self.cookie(setCookie)]) { response in
                #expect(response.status == .ok)
            }
            // A made-up session id, or the token itself in the cookie, is nobody.
            for forged in ["relevo_session=0123", "relevo_session=viewer-token-0123456789", "relevo_token=viewer-token-0123456789"] {
                try await client.execute(uri: "/go/api/pipelines/app/history", method: .get, headers: [.cookie: forged]) { response in
                    #expect(response.status == .unauthorized, "\(forged)")
                }
            }
        }
    }

    @Test func signingOutEndsTheSession() async throws {
        try await Self.withDashboard { client in
            let cookie = Self.cookie(try #require(try await Self.signIn(client)))
            try await client.execute(uri: "/logout", method: .post, headers: [.cookie: cookie]) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/login")
                #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true)
            }
            try await client.execute(uri: "/go/api/pipelines/app/history", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .seeOther && response.headers[.location] == "/login")
            }
        }
    }

    @Test func aSessionEndsAfterItsLifetime() async throws {
        let clock = Mutex(Date())
        let sessions = SignInSessions(lifetime: 60, now: { clock.withLock { $0 } })
        try await Self.withDashboard(sessions: sessions) { client in
            let cookie = Self.cookie(try #require(try await Self.signIn(client)))
            clock.withLock { $0 = $0.addingTimeInterval(59) }
            try await client.execute(uri: "/go/api/pipelines/app/history", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .ok)
            }
            clock.withLock { $0 = $0.addingTimeInterval(2) }
            try await client.execute(uri: "/go/api/pipelines/app/history", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .unauthorized)
            }
            #expect(sessions.count == 0)
        }
    }

    @Test func overHTTPSTheCookieIsSecureAndAWrongTokenStartsNoSession() async throws {
        let sessions = SignInSessions()
        try await Self.withDashboard(secure: true, sessions: sessions) { client in
            let secure = try await Self.signIn(client)
            #expect(secure?.contains("; Secure") == true)
            let refused = try await Self.signIn(client, token: "wrong")
            #expect(refused == nil)
            #expect(sessions.count == 1)
        }
    }
}
