import Foundation
import Logging
import RelevoTestSupport
import Shared
import Testing

@testable import Scheduler

/// A job's message that comes back from the broker (its holder's connection was cut: a worker
/// died, or a node of the cluster did) is abandoned and dispatched again only once nothing says
/// that its holder still runs it: a job abandoned while it runs, runs twice.
@Suite struct RedeliveryTests {
    static let holder = AgentIdentity(uuid: "agent-1", name: "w-1", resources: [], environments: [], slots: 2)
    static let other = AgentIdentity(uuid: "agent-2", name: "w-2", resources: [], environments: [], slots: 2)
    static let compile = JobAttempt(jobRunID: JobRunID(pipeline: "app", pipelineCounter: 1, stage: "build", job: "compile"), attempt: 1)

    static func attempt(_ store: SchedulerStore) async throws -> Int? {
        try await store.pipelineRun("app", counter: 1)?.job(Fixture.key("build", "compile"))?.attempt
    }

    static func heartbeat(_ agent: AgentIdentity, running: [JobRunID]) -> WorkerEvent {
        .heartbeat(agent, busyJobs: running, catalogVersion: 0)
    }

    /// The case that ran jobs twice through a cluster node kill: the job was taken after its
    /// agent's last heartbeat, so that heartbeat does not name it; it must wait for the next one.
    @Test func anAttemptTakenAfterItsAgentsLastHeartbeatWaitsForTheNextOne() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            _ = try await SchedulerEngineTests.start(engine, store)
            await engine.setRedeliveryGrace(0)
            _ = await engine.handle([Self.heartbeat(Self.holder, running: []), .started(Self.compile, agent: Self.holder)])
            _ = await engine.handle([.redelivered(Self.compile, agent: Self.other)])
            #expect(try await Self.attempt(store) == 1)
            _ = await engine.handle([Self.heartbeat(Self.holder, running: [Self.compile.jobRunID])])
            await engine.settleRedeliveries()
            #expect(try await Self.attempt(store) == 1, "the holder still runs it: it goes on there")
            _ = await engine.handle([.finished(Self.compile, result: .passed, agent: Self.holder.uuid)])
            #expect(try await store.pipelineRun("app", counter: 1)?.job(Fixture.key("build", "compile"))?.result == .passed)
        }
    }

    @Test func aHeartbeatOfTheHolderThatNoLongerNamesTheJobHasItRunAgain() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            _ = try await SchedulerEngineTests.start(engine, store)
            _ = await engine.handle([Self.heartbeat(Self.holder, running: []), .started(Self.compile, agent: Self.holder)])
            _ = await engine.handle([.redelivered(Self.compile, agent: Self.other)])
            _ = await engine.handle([Self.heartbeat(Self.holder, running: [])])
            await engine.settleRedeliveries()
            #expect(try await Self.attempt(store) == 2)
        }
    }

    @Test func anAgentThatSendsNoWordWithinTheGraceHasItsAttemptAbandoned() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            _ = try await SchedulerEngineTests.start(engine, store)
            _ = await engine.handle([Self.heartbeat(Self.holder, running: []), .started(Self.compile, agent: Self.holder)])
            _ = await engine.handle([.redelivered(Self.compile, agent: Self.other)])
            await engine.settleRedeliveries()
            #expect(try await Self.attempt(store) == 1, "within the grace")
            await engine.setRedeliveryGrace(0)
            await engine.settleRedeliveries()
            #expect(try await Self.attempt(store) == 2)
        }
    }

    /// The holder's acceptance was published on a connection the same fault cut: it arrives after
    /// the redelivery. A heartbeat naming the job settles it, whoever sent it.
    @Test func aRedeliveryBeforeTheHoldersAcceptanceWaitsForAHeartbeatNamingTheJob() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            _ = try await SchedulerEngineTests.start(engine, store)
            await engine.setRedeliveryGrace(0)
            _ = await engine.handle([.redelivered(Self.compile, agent: Self.other)])
            #expect(try await Self.attempt(store) == 1)
            _ = await engine.handle([Self.heartbeat(Self.holder, running: [Self.compile.jobRunID]), .started(Self.compile, agent: Self.holder)])
            await engine.settleRedeliveries()
            let job = try await store.pipelineRun("app", counter: 1)?.job(Fixture.key("build", "compile"))
            #expect(job?.attempt == 1)
            #expect(job?.state == .building)
        }
    }

    @Test func anAttemptOfAnAgentSilentForLongerThanItsLostTimeIsAbandonedAtOnce() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            _ = try await SchedulerEngineTests.start(engine, store)
            _ = await engine.handle([.started(Self.compile, agent: Self.holder)])
            _ = await engine.handle([.redelivered(Self.compile, agent: Self.other)])
            #expect(try await Self.attempt(store) == 2, "no heartbeat of the holder on record")
        }
    }
}
