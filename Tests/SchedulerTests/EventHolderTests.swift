import Foundation
import Logging
import RelevoTestSupport
import Shared
import Testing

@testable import Scheduler

/// An authenticated agent speaks only for the attempts it holds: its console output and task
/// starts for another agent's job are refused, not stored (issue #14: "console/taskStarted from
/// any authenticated agent").
@Suite struct EventHolderTests {
    static let holder = AgentIdentity(uuid: "agent-1", name: "w-1", resources: [], environments: [], slots: 2)
    static let intruder = "agent-2"
    static let compile = JobAttempt(jobRunID: JobRunID(pipeline: "app", pipelineCounter: 1, stage: "build", job: "compile"), attempt: 1)

    /// The event as the events consumer passes it on: checked against its signer.
    static func signed(_ event: WorkerEvent, by signer: String) throws -> WorkerEvent {
        try EventAuthentication.check(event, signer: signer).get()
    }

    @Test func consoleOutputOfAnotherAgentsAttemptIsRefusedAndNotStored() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            _ = try await SchedulerEngineTests.start(engine, store)
            _ = await engine.handle([.accepted(Self.compile, agent: Self.holder)])
            let forged = try Self.signed(.console(Self.compile, sequence: 0, text: "rm -rf looks fine\n"), by: Self.intruder)
            let genuine = try Self.signed(.console(Self.compile, sequence: 1, text: "compiling\n"), by: Self.holder.uuid)
            let outcomes = await engine.handle([forged, genuine])
            guard case .refused(let error) = outcomes[0] else { Issue.record("\(outcomes)"); return }
            #expect(error.message.contains("unauthenticated"))
            guard case .done = outcomes[1] else { Issue.record("\(outcomes)"); return }
            #expect(try await store.console(of: Fixture.key("build", "compile"), pipeline: "app", counter: 1)?.text == "compiling\n")
        }
    }

    @Test func aTaskStartOfAnotherAgentsAttemptChangesNothing() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            _ = try await SchedulerEngineTests.start(engine, store)
            _ = await engine.handle([.accepted(Self.compile, agent: Self.holder)])
            _ = await engine.handle([try Self.signed(.taskStarted(Self.compile, index: 0), by: Self.intruder)])
            #expect(try await store.pipelineRun("app", counter: 1)?.job(Fixture.key("build", "compile"))?.state == .assigned)
            _ = await engine.handle([try Self.signed(.taskStarted(Self.compile, index: 0), by: Self.holder.uuid)])
            #expect(try await store.pipelineRun("app", counter: 1)?.job(Fixture.key("build", "compile"))?.state == .building)
        }
    }

    @Test func consoleOutputSentInTheSameBurstAsTheAcceptanceIsStored() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            _ = try await SchedulerEngineTests.start(engine, store)
            let outcomes = await engine.handle([.started(Self.compile, agent: Self.holder),
                                                try Self.signed(.console(Self.compile, sequence: 0, text: "hello\n"), by: Self.holder.uuid)])
            #expect(outcomes.allSatisfy { if case .done = $0 { true } else { false } })
            #expect(try await store.console(of: Fixture.key("build", "compile"), pipeline: "app", counter: 1)?.text == "hello\n")
        }
    }

    @Test func anEventNamingAnotherAgentThanItsSignerIsRefused() {
        #expect(throws: (any Error).self) {
            try Self.signed(.console(Self.compile, sequence: 0, text: "x", agent: Self.holder.uuid), by: Self.intruder)
        }
    }
}
