import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import RelevoTestSupport
import Shared
import Testing

@testable import Scheduler

/// The REST routes through Hummingbird's own test client: statuses and JSON error bodies come
/// from the one error middleware. The engine runs on a real SQLite file with an in-memory broker.
@Suite struct APIRouterTests {
    /// The API's routes over an engine with `Fixture.buildTest`, as the server mounts them (no
    /// tokens: open).
    static func withAPI(tokens: APITokens? = nil,
                        _ body: @escaping @Sendable (any TestClientProtocol, InMemoryPublisher) async throws -> Void) async throws {
        try await SchedulerEngineTests.withEngine { engine, _, publisher in
            let router = Router(context: RelevoRequestContext.self)
            router.add(middleware: JSONErrorMiddleware(logger: Logger(label: "test")))
            router.add(middleware: SameOriginMiddleware())
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-api-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: data) }
            router.add(middleware: AuthMiddleware(tokens: tokens, artifacts: try ArtifactStore(dataDirectory: data), queries: engine.queries, logger: Logger(label: "test")))
            APIRoutes(engine: engine, logger: Logger(label: "test")).register(on: router)
            ConsoleRoutes(engine: engine, logger: Logger(label: "test")).register(on: router)
            AgentRoutes(engine: engine, logger: Logger(label: "test")).register(on: router)
            try await Application(router: router).test(.router) { client in try await body(client, publisher) }
        }
    }

    /// The `message` of a JSON error body.
    static func message(_ response: TestResponse) -> String? {
        let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        return object?["message"] as? String
    }

    @Test func refusalsAreStatusesWithAJSONMessage() async throws {
        try await Self.withAPI { client, _ in
            try await client.execute(uri: "/go/api/pipelines/app/1", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(Self.message(response) == "no instance app/1")
            }
            try await client.execute(uri: "/go/api/pipelines/app/zero", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(Self.message(response)?.contains("counter must be a positive whole number") == true)
            }
            try await client.execute(uri: "/go/api/pipelines/nope/schedule", method: .post) { response in
                #expect(response.status == .notFound)
                #expect(Self.message(response) == "no pipeline named 'nope'")
            }
            try await client.execute(uri: "/go/api/no/such/route", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(Self.message(response)?.contains("no route for GET /go/api/no/such/route") == true)
            }
            try await client.execute(uri: "/go/api/pipelines/app/schedule", method: .post, body: ByteBuffer(string: "{not json")) { response in
                #expect(response.status == .badRequest)
                #expect(Self.message(response)?.contains("the body is not valid") == true)
            }
        }
    }

    /// A page on another site cannot make a signed-in browser change anything: a state-changing
    /// request whose `Origin` is not the server's (or marked `Sec-Fetch-Site: cross-site`) is
    /// refused; the server's own pages, scripts and the CLI (no `Origin`) are not.
    @Test func crossSiteRequestsThatChangeStateAreRefused() async throws {
        try await Self.withAPI { client, _ in
            for headers: HTTPFields in [[.origin: "https://evil.example", SameOriginMiddleware.forwardedHost: "ci.example.org:8153"],
                                        [.origin: "null", SameOriginMiddleware.forwardedHost: "ci.example.org:8153"],
                                        [SameOriginMiddleware.secFetchSite: "cross-site"]] {
                try await client.execute(uri: "/go/api/pipelines/app/pause", method: .post, headers: headers) { response in
                    #expect(response.status == .forbidden, "\(headers)")
                    #expect(Self.message(response)?.contains("cross-site request refused") == true)
                }
            }
            // Reading is not refused; nothing was paused (the pause from the server's own origin
            // below would be a 409).
            try await client.execute(uri: "/go/api/pipelines/app/history", method: .get, headers: [.origin: "https://evil.example"]) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/go/api/pipelines/app/pause", method: .post,
                                     headers: [.origin: "http://ci.example.org:8153", SameOriginMiddleware.forwardedHost: "ci.example.org:8153"]) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/go/api/pipelines/app/unpause", method: .post) { response in #expect(response.status == .ok) }
        }
    }

    /// Issue #14: "a text/plain POST from another site paused a pipeline". Whatever the browser
    /// says of its origin (some send none), a body only a cross-site form can send is refused on
    /// every route but sign-in, sign-out and the webhooks.
    @Test func formBodiesThatACrossSitePageCanSendAreRefused() async throws {
        try await Self.withAPI { client, _ in
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "Text/Plain;charset=UTF-8"] {
                try await client.execute(uri: "/go/api/pipelines/app/pause", method: .post, headers: [.contentType: type],
                                         body: ByteBuffer(string: #"{"pause_cause": "x"}"#)) { response in
                    #expect(response.status == .unsupportedMediaType, "\(type)")
                    #expect(Self.message(response)?.contains("send application/json") == true)
                }
            }
            // Nothing was paused: a JSON pause goes through.
            try await client.execute(uri: "/go/api/pipelines/app/pause", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"pause_cause": "x"}"#)) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func aScheduledInstanceIsDispatchedAndReadable() async throws {
        try await Self.withAPI { client, publisher in
            let body = ByteBuffer(string: #"{"materials":[{"name":"app","revision":"0123abc"}]}"#)
            try await client.execute(uri: "/go/api/pipelines/app/schedule", method: .post, body: body) { response in
                #expect(response.status == .accepted)
            }
            // The jobs are published right after the answer.
            let queue = JobQueueKey(environment: nil, resources: []).queueName
            for _ in 0..<200 where await publisher.messages(toQueue: queue).isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(await publisher.messages(toQueue: queue).count == 1)
            try await client.execute(uri: "/go/api/pipelines/app/1", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("0123abc"))
            }
            try await client.execute(uri: "/go/api/pipelines/app/pause", method: .post) { response in #expect(response.status == .ok) }
            try await client.execute(uri: "/go/api/pipelines/app/pause", method: .post) { response in
                #expect(response.status == .conflict)
                #expect(Self.message(response) == "pipeline 'app' is already paused")
            }
            try await client.execute(uri: "/go/api/pipelines/app/schedule", method: .post) { response in
                #expect(response.status == .conflict)
                #expect(Self.message(response)?.hasPrefix("pipeline 'app' is paused by anonymous") == true)
            }
        }
    }

    @Test func theStageHistoryListsEachRunOfTheStageNewestFirst() async throws {
        try await Self.withAPI { client, _ in
            for revision in ["0123abc", "4567def"] {
                let body = ByteBuffer(string: #"{"materials":[{"name":"app","revision":"\#(revision)"}]}"#)
                try await client.execute(uri: "/go/api/pipelines/app/schedule", method: .post, body: body) { response in
                    #expect(response.status == .accepted)
                }
            }
            try await client.execute(uri: "/go/api/stages/app/build/history?page_size=5", method: .get) { response in
                #expect(response.status == .ok)
                let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                let stages = object?["stages"] as? [[String: Any]] ?? []
                #expect(stages.map { $0["pipeline_counter"] as? Int } == [2, 1], "\(object ?? [:])")
                #expect(stages.allSatisfy { $0["name"] as? String == "build" && ($0["jobs"] as? [[String: Any]])?.first?["name"] as? String == "compile" })
                #expect((object?["pagination"] as? [String: Any])?["total"] as? Int == 2)
            }
            try await client.execute(uri: "/go/api/stages/app/nope/history", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(Self.message(response) == "pipeline 'app' has no stage 'nope'")
            }
        }
    }

    static let tokens = APITokens(entries: [("op-token", APIUser(name: "olga", role: .operator, groups: [])),
                                            ("admin-token", APIUser(name: "ada", role: .admin, groups: []))])

    @Test(arguments: ["/go/api/agents/u-1", "/go//api/agents/u-1", "//go/api/agents/u-1", "/go/api//agents/u-1",
                      "/go/api/agents//u-1", "/go/%61pi/agents/u-1"])
    func agentEditsNeedAnAdminHoweverThePathIsSpelled(_ path: String) async throws {
        try await Self.withAPI(tokens: Self.tokens) { client, _ in
            let body = ByteBuffer(string: #"{"agent_config_state": "Disabled"}"#)
            try await client.execute(uri: path, method: .patch, headers: [.authorization: "Bearer op-token"], body: body) { response in
                #expect(response.status == .forbidden, "\(path): \(String(buffer: response.body))")
            }
            // An admin reaches the route (no such agent here).
            try await client.execute(uri: path, method: .patch, headers: [.authorization: "Bearer admin-token"], body: body) { response in
                #expect(response.status == .notFound || response.status == .forbidden, "\(path): \(String(buffer: response.body))")
            }
        }
    }
}
