import Foundation
import Logging
import RelevoTestSupport
import Shared
import Testing

@testable import Scheduler

/// Dispatch, event application and the reconcile pass of the engine, with an in-memory broker
/// and a real SQLite file: no broker, no processes.
@Suite struct SchedulerEngineTests {
    static let anyQueue = JobQueueKey(environment: nil, resources: []).queueName
    static let agent = AgentIdentity(uuid: "agent-1", name: "linux-1", resources: [], environments: [], slots: 2)

    /// An engine running `Fixture.buildTest` over a fresh database, with the broker `publisher`.
    static func withEngine(_ body: (SchedulerEngine, SchedulerStore, InMemoryPublisher) async throws -> Void) async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            let publisher = InMemoryPublisher()
            let git = GitClient(cacheRoot: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("git").path)
            let engine = SchedulerEngine(config: ConfigSnapshot(), store: store, publisher: publisher, git: git,
                                         serverURL: "http://scheduler/go", artifactToken: { "t-\($0)#\($1)" },
                                         logger: Logger(label: "test"))
            await engine.apply(config: ConfigSnapshot(pipelines: [Fixture.buildTest]))
            try await body(engine, store, publisher)
        }
    }

    /// Creates run 1 of `app` and performs its actions (the first stage's dispatch).
    static func start(_ engine: SchedulerEngine, _ store: SchedulerStore) async throws -> PipelineRun {
        let (run, actions) = try await store.createRun(of: Fixture.buildTest, cause: .manual(user: "ana"),
                                                       materialRevisions: ["app": "abc"], at: Date())
        await engine.perform(actions, run: run)
        return run
    }

    static func jobs(on publisher: InMemoryPublisher) async throws -> [JobMessage] {
        try await publisher.messages(toQueue: anyQueue).map { try MessageCodec.decodeJob($0.body) }
    }

    @Test func aRunsFirstJobIsPublishedToItsQueueAndRecordedAsDispatched() async throws {
        try await Self.withEngine { engine, store, publisher in
            _ = try await Self.start(engine, store)
            #expect(try await Self.jobs(on: publisher).map(\.jobRunID) == [JobRunID(pipeline: "app", pipelineCounter: 1, stage: "build", job: "compile")])
            #expect(try await store.jobsAwaitingDispatch().isEmpty)
            #expect(await publisher.declaredQueues.contains(Self.anyQueue))
        }
    }

    @Test func aDispatchTheBrokerRefusedIsPublishedByTheReconcilePassFromTheDatabaseOnce() async throws {
        try await Self.withEngine { engine, store, publisher in
            await publisher.setFailure(AMQPError(.notConnected, operation: "publish", message: "broker down"))
            _ = try await Self.start(engine, store)
            #expect(try await Self.jobs(on: publisher).isEmpty)
            #expect(try await store.jobsAwaitingDispatch().map(\.attempt.jobRunID.job) == ["compile"])
            // Still down: the pass tries and the job still waits.
            #expect(await engine.dispatchUnconfirmedJobs() == 1)
            #expect(try await store.jobsAwaitingDispatch().count == 1)
            await publisher.setFailure(nil)
            #expect(await engine.dispatchUnconfirmedJobs() == 1)
            #expect(try await Self.jobs(on: publisher).map(\.jobRunID.job) == ["compile"])
            // Confirmed and recorded: the next pass has nothing to publish.
            #expect(await engine.dispatchUnconfirmedJobs() == 0)
            #expect(try await Self.jobs(on: publisher).count == 1)
        }
    }

    @Test func theReconcilePassLeavesAJustScheduledJobToItsOwnDispatch() async throws {
        try await Self.withEngine { engine, store, publisher in
            await publisher.setFailure(AMQPError(.notConnected, operation: "publish", message: "broker down"))
            _ = try await Self.start(engine, store)
            await publisher.setFailure(nil)
            #expect(await engine.dispatchUnconfirmedJobs(olderThan: 60) == 0)
            #expect(try await Self.jobs(on: publisher).isEmpty)
        }
    }

    @Test func workerEventsMoveTheRunOnAndDispatchTheNextStage() async throws {
        try await Self.withEngine { engine, store, publisher in
            _ = try await Self.start(engine, store)
            let compile = JobAttempt(jobRunID: JobRunID(pipeline: "app", pipelineCounter: 1, stage: "build", job: "compile"), attempt: 1)
            let outcomes = await engine.handle([.started(compile, agent: Self.agent),
                                                .console(compile, sequence: 0, text: "compiling\n"),
                                                .finished(compile, result: .passed, console: ConsoleChunk(sequence: 1, text: "done\n"))])
            #expect(outcomes.allSatisfy { if case .done = $0 { true } else { false } })
            let run = try #require(try await store.pipelineRun("app", counter: 1))
            #expect(run.job(Fixture.key("build", "compile"))?.result == .passed)
            #expect(try await Self.jobs(on: publisher).map(\.jobRunID.description)
                        == ["app/1/build/1/compile/1", "app/1/test/1/unit/1", "app/1/test/1/unit/2"])
            #expect(try await store.console(of: Fixture.key("build", "compile"), pipeline: "app", counter: 1)?.text == "compiling\ndone\n")
            // The same events again (at-least-once delivery) change nothing and publish nothing.
            let again = await engine.handle([.finished(compile, result: .passed)])
            #expect(again.allSatisfy { if case .done = $0 { true } else { false } })
            #expect(try await Self.jobs(on: publisher).count == 3)
        }
    }

    @Test func aFinishedEventWithoutAFinalResultIsRefusedForTheDeadLetterQueue() async throws {
        try await Self.withEngine { engine, store, _ in
            _ = try await Self.start(engine, store)
            let compile = JobAttempt(jobRunID: JobRunID(pipeline: "app", pipelineCounter: 1, stage: "build", job: "compile"), attempt: 1)
            let outcomes = await engine.handle([.started(compile, agent: Self.agent), .finished(compile, result: .unknown)])
            guard case .refused(let error) = outcomes[1] else { Issue.record("\(outcomes)"); return }
            #expect(error.scheduling?.code == .invalidResult)
            #expect(try await store.pipelineRun("app", counter: 1)?.job(Fixture.key("build", "compile"))?.state == .building)
        }
    }

    @Test func anEventForARunThatDoesNotExistIsRefused() async throws {
        try await Self.withEngine { engine, _, _ in
            let stray = JobAttempt(jobRunID: JobRunID(pipeline: "app", pipelineCounter: 9, stage: "build", job: "compile"), attempt: 1)
            let outcomes = await engine.handle([.finished(stray, result: .passed)])
            guard case .refused = outcomes[0] else { Issue.record("\(outcomes)"); return }
        }
    }
}
