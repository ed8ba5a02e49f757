import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import RelevoTestSupport
import Shared
import Testing

@testable import Scheduler

/// Artifact uploads go only into a job run that exists and has not completed; a job's token
/// reads only while its job runs.
@Suite struct ArtifactRouteTests {
    static let compile = JobAttempt(jobRunID: JobRunID(pipeline: "app", pipelineCounter: 1, stage: "build", job: "compile"), attempt: 1)
    static let agent = AgentIdentity(uuid: "agent-1", name: "linux-1", resources: [], environments: [], slots: 1)

    /// PUTs `dist/a.rpm` into `locator` with the token of its job's `attempt`; returns the status.
    static func upload(_ locator: ArtifactLocator, attempt: Int = 1, header: Int? = nil, _ artifacts: ArtifactStore,
                       _ client: some TestClientProtocol) async throws -> HTTPResponse.Status {
        var headers: HTTPFields = [.authorization: "Bearer \(artifacts.token(for: locator, attempt: attempt))",
                                   ArtifactRoutes.checksumHeader: "fd04387699887653fd228b48acd73488fd74d40b3f6df752d488b9e36bb82453"]
        if let value = header ?? Optional(attempt), value > 0 { headers[AuthMiddleware.attemptHeader] = String(value) }
        return try await client.execute(uri: locator.fileURL(server: "/go", path: ["dist", "a.rpm"]), method: .put,
                                        headers: headers, body: ByteBuffer(string: "rpm bytes")) { $0.status }
    }

    /// GETs `path` of `locator` with the token of `attempt` of job `job` (as a worker's fetch does).
    static func read(_ locator: ArtifactLocator, path: [String] = ["dist", "a.rpm"], as job: ArtifactLocator, attempt: Int = 1,
                     _ artifacts: ArtifactStore, _ client: some TestClientProtocol) async throws -> HTTPResponse.Status {
        let headers: HTTPFields = [.authorization: "Bearer \(artifacts.token(for: job, attempt: attempt))", AuthMiddleware.jobHeader: job.description,
                                   AuthMiddleware.attemptHeader: String(attempt)]
        let uri = path.isEmpty ? "/go/files/\(locator).json" : locator.fileURL(server: "/go", path: path)
        return try await client.execute(uri: uri, method: .get, headers: headers) { $0.status }
    }

    /// `Fixture.buildTest` whose `unit` jobs fetch `dist` from `build/compile`.
    static let fetching = Fixture.pipeline(stages: [
        Fixture.stage("build", jobs: [Fixture.job("compile")]),
        Fixture.stage("test", jobs: [JobDefinition(name: "unit", runInstances: .count(2),
                                                   tasks: [.fetch(FetchTask(stage: "build", job: "compile", source: "dist"))])]),
    ])

    /// Issue #14: a token belongs to one attempt of one job, is valid while that attempt runs, and
    /// reads only what the job's fetch tasks resolved to.
    @Test func aJobTokenUploadsOnlyFromItsAttemptAndReadsOnlyWhatItsFetchesName() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            await engine.apply(config: ConfigSnapshot(pipelines: [Self.fetching]))
            _ = try await SchedulerEngineTests.start(engine, store)
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-art-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: data) }
            let artifacts = try ArtifactStore(dataDirectory: data)
            let router = Router(context: RelevoRequestContext.self)
            router.add(middleware: JSONErrorMiddleware(logger: Logger(label: "test")))
            // Tokens configured (none for people here): reads need a job's token, with its job.
            router.add(middleware: AuthMiddleware(tokens: APITokens(entries: []), artifacts: artifacts, queries: engine.queries,
                                                  logger: Logger(label: "test"), readGrants: { await engine.artifactReadGrants(of: $0) }))
            ArtifactRoutes(engine: engine, artifacts: artifacts, repositories: URL(fileURLWithPath: data), serverURL: "http://scheduler/go",
                           logger: Logger(label: "test")).register(on: router)
            let compile = Self.compile.jobRunID.artifactLocator(runCount: 1)
            let ghost = JobRunID(pipeline: "app", pipelineCounter: 1, stage: "build", job: "ghost").artifactLocator(runCount: 1)
            let unitID = JobRunID(pipeline: "app", pipelineCounter: 1, stage: "test", job: "unit", runIndex: 1)
            let unit = unitID.artifactLocator(runCount: 2)
            try await Application(router: router).test(.router) { client async throws in
                // While the job runs, its attempt's upload is stored.
                _ = await engine.handle([.started(Self.compile, agent: Self.agent)])
                #expect(try await Self.upload(compile, artifacts, client) == .created)
                #expect(try await Self.upload(compile, header: 0, artifacts, client) == .badRequest, "no attempt named")
                #expect(try await Self.upload(compile, attempt: 1, header: 2, artifacts, client) == .forbidden, "attempt 1's token for attempt 2")
                #expect(try await Self.upload(compile, attempt: 2, artifacts, client) == .conflict, "not the current attempt")
                #expect(try await Self.upload(ghost, artifacts, client) == .notFound)
                // Its token reads nothing: the job has no fetch task.
                #expect(try await Self.read(compile, as: compile, artifacts, client) == .forbidden)
                _ = await engine.handle([.finished(Self.compile, result: .passed)])
                #expect(try await Self.upload(compile, artifacts, client) == .conflict)
                // The token expired with its job; a token of a job that never existed reads nothing.
                #expect(try await Self.read(compile, as: compile, artifacts, client) == .unauthorized)
                #expect(try await Self.read(compile, as: ghost, artifacts, client) == .unauthorized)
                // `unit` fetches build/compile's `dist`: its running attempt reads that, and nothing else.
                _ = await engine.handle([.started(JobAttempt(jobRunID: unitID, attempt: 1), agent: Self.agent)])
                #expect(try await Self.read(compile, as: unit, artifacts, client) == .ok)
                #expect(try await Self.read(compile, path: [], as: unit, artifacts, client) == .ok, "the listing")
                #expect(try await Self.read(compile, path: ["distribution", "a.rpm"], as: unit, artifacts, client) == .forbidden)
                #expect(try await Self.read(compile, path: ["cruise-output", "console.log"], as: unit, artifacts, client) == .forbidden)
                #expect(try await Self.read(unit, as: unit, artifacts, client) == .forbidden)
                #expect(try await Self.read(compile, as: unit, attempt: 2, artifacts, client) == .unauthorized, "not its current attempt")
            }
        }
    }

    /// Issue #14: "artifacts of different attempts of one job land in one folder and mix". An
    /// attempt given up after an upload leaves nothing for the next attempt to mix with.
    @Test func theArtifactsOfAnAbandonedAttemptDoNotMixWithTheNextOnes() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            _ = try await SchedulerEngineTests.start(engine, store)
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-art-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: data) }
            let artifacts = try ArtifactStore(dataDirectory: data)
            let router = Router(context: RelevoRequestContext.self)
            router.add(middleware: JSONErrorMiddleware(logger: Logger(label: "test")))
            ArtifactRoutes(engine: engine, artifacts: artifacts, repositories: URL(fileURLWithPath: data), serverURL: "http://scheduler/go",
                           logger: Logger(label: "test")).register(on: router)
            let compile = Self.compile.jobRunID.artifactLocator(runCount: 1)
            try await Application(router: router).test(.router) { client async throws in
                _ = await engine.handle([.started(Self.compile, agent: Self.agent)])
                #expect(try await Self.upload(compile, artifacts, client) == .created)
                #expect(try artifacts.file(of: compile, path: ArtifactPath("dist/a.rpm")) != nil)
                // Attempt 1 is given up; attempt 2 runs and uploads another file.
                #expect(try await engine.abandon(Self.compile, reason: "test"))
                let second = JobAttempt(jobRunID: Self.compile.jobRunID, attempt: 2)
                _ = await engine.handle([.started(second, agent: Self.agent)])
                let headers: HTTPFields = [.authorization: "Bearer \(artifacts.token(for: compile, attempt: 2))", AuthMiddleware.attemptHeader: "2",
                                           ArtifactRoutes.checksumHeader: "fd04387699887653fd228b48acd73488fd74d40b3f6df752d488b9e36bb82453"]
                let status = try await client.execute(uri: compile.fileURL(server: "/go", path: ["dist", "b.rpm"]), method: .put,
                                                      headers: headers, body: ByteBuffer(string: "rpm bytes")) { $0.status }
                #expect(status == .created)
                #expect(try artifacts.file(of: compile, path: ArtifactPath("dist/a.rpm")) == nil, "attempt 1's file is gone")
                #expect(try artifacts.file(of: compile, path: ArtifactPath("dist/b.rpm")) != nil)
            }
        }
    }

    /// Files jobs wrote are served on the dashboard's origin: an XHTML file in a repository or an
    /// artifact must not run script with the signed-in user's cookie.
    @Test func jobWrittenFilesCannotRunInTheBrowser() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            _ = try await SchedulerEngineTests.start(engine, store)
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-art-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: data) }
            let artifacts = try ArtifactStore(dataDirectory: data)
            let repositories = URL(fileURLWithPath: data).appendingPathComponent("repos")
            try FileManager.default.createDirectory(at: repositories.appendingPathComponent("dev"), withIntermediateDirectories: true)
            try Data("<html xmlns='http://www.w3.org/1999/xhtml'><script>alert(document.cookie)</script></html>".utf8)
                .write(to: repositories.appendingPathComponent("dev/evil.xml"))
            let router = Router(context: RelevoRequestContext.self)
            router.add(middleware: JSONErrorMiddleware(logger: Logger(label: "test")))
            router.add(middleware: AuthMiddleware(tokens: nil, artifacts: artifacts, queries: engine.queries, logger: Logger(label: "test")))
            ArtifactRoutes(engine: engine, artifacts: artifacts, repositories: repositories, serverURL: "http://scheduler/go",
                           logger: Logger(label: "test")).register(on: router)
            let compile = Self.compile.jobRunID.artifactLocator(runCount: 1)
            try await Application(router: router).test(.router) { client async throws in
                _ = await engine.handle([.started(Self.compile, agent: Self.agent)])
                #expect(try await Self.upload(compile, artifacts, client) == .created)
                for uri in ["/repos/dev/evil.xml", "/repos/dev/", compile.fileURL(server: "/go", path: ["dist", "a.rpm"])] {
                    try await client.execute(uri: uri, method: .get) { response in
                        #expect(response.status == .ok, "\(uri)")
                        #expect(response.headers[ArtifactRoutes.contentTypeOptions] == "nosniff", "\(uri)")
                        #expect(response.headers[ArtifactRoutes.contentSecurityPolicy]?.hasPrefix("sandbox") == true, "\(uri)")
                    }
                }
                try await client.execute(uri: compile.fileURL(server: "/go", path: ["dist", "a.rpm"]), method: .get) { response in
                    #expect(response.headers[.contentDisposition] == "attachment; filename=\"a.rpm\"")
                }
            }
        }
    }
}
