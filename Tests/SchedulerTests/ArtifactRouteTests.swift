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

    /// PUTs `dist/a.rpm` into `locator` with that job's token; returns the status.
    static func upload(_ locator: ArtifactLocator, _ artifacts: ArtifactStore, _ client: some TestClientProtocol) async throws -> HTTPResponse.Status {
        let headers: HTTPFields = [.authorization: "Bearer \(artifacts.token(for: locator))", ArtifactRoutes.checksumHeader: "fd04387699887653fd228b48acd73488fd74d40b3f6df752d488b9e36bb82453"]
        return try await client.execute(uri: locator.fileURL(server: "/go", path: ["dist", "a.rpm"]), method: .put,
                                        headers: headers, body: ByteBuffer(string: "rpm bytes")) { $0.status }
    }

    /// GETs `dist/a.rpm` of `locator` with the token of job `job` (as a worker's fetch does).
    static func read(_ locator: ArtifactLocator, as job: ArtifactLocator, _ artifacts: ArtifactStore,
                     _ client: some TestClientProtocol) async throws -> HTTPResponse.Status {
        let headers: HTTPFields = [.authorization: "Bearer \(artifacts.token(for: job))", AuthMiddleware.jobHeader: job.description]
        return try await client.execute(uri: locator.fileURL(server: "/go", path: ["dist", "a.rpm"]), method: .get, headers: headers) { $0.status }
    }

    @Test func uploadsAndReadsWithAJobTokenEndWithTheJob() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            _ = try await SchedulerEngineTests.start(engine, store)
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-art-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: data) }
            let artifacts = try ArtifactStore(dataDirectory: data)
            let router = Router(context: RelevoRequestContext.self)
            router.add(middleware: JSONErrorMiddleware(logger: Logger(label: "test")))
            // Tokens configured (none for people here): reads need a job's token, with its job.
            router.add(middleware: AuthMiddleware(tokens: APITokens(entries: []), artifacts: artifacts, queries: engine.queries,
                                                  logger: Logger(label: "test")))
            ArtifactRoutes(engine: engine, artifacts: artifacts, repositories: URL(fileURLWithPath: data), serverURL: "http://scheduler/go",
                           logger: Logger(label: "test")).register(on: router)
            let compile = Self.compile.jobRunID.artifactLocator(runCount: 1)
            let ghost = JobRunID(pipeline: "app", pipelineCounter: 1, stage: "build", job: "ghost").artifactLocator(runCount: 1)
            try await Application(router: router).test(.router) { client async throws in
                // While the job runs, its upload is stored and its token reads.
                _ = await engine.handle([.started(Self.compile, agent: Self.agent)])
                #expect(try await Self.upload(compile, artifacts, client) == .created)
                #expect(try await Self.upload(ghost, artifacts, client) == .notFound)
                #expect(try await Self.read(compile, as: compile, artifacts, client) == .ok)
                _ = await engine.handle([.finished(Self.compile, result: .passed)])
                #expect(try await Self.upload(compile, artifacts, client) == .conflict)
                // The token expired with its job; a token of a job that never existed reads nothing.
                #expect(try await Self.read(compile, as: compile, artifacts, client) == .unauthorized)
                #expect(try await Self.read(compile, as: ghost, artifacts, client) == .unauthorized)
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
