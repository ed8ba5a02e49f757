import Foundation
import Logging
import RelevoTestSupport
import Shared
import Testing

@testable import Scheduler

/// The scheduler owns every job's liveness: an attempt whose message came back from the broker,
/// whose agent was lost, or whose message was dead-lettered is abandoned and the job dispatched
/// again as a new attempt; events of the abandoned attempt change nothing.
@Suite struct JobLivenessTests {
    static let compile = JobRunID(pipeline: "app", pipelineCounter: 1, stage: "build", job: "compile")
    static let first = JobAttempt(jobRunID: compile, attempt: 1)
    static let second = JobAttempt(jobRunID: compile, attempt: 2)
    static let holder = AgentIdentity(uuid: "agent-1", name: "linux-1", resources: [], environments: [], slots: 2)
    static let other = AgentIdentity(uuid: "agent-2", name: "linux-2", resources: [], environments: [], slots: 2)

    static func cancels(on publisher: InMemoryPublisher) async throws -> [JobCancel] {
        try await publisher.published.filter { $0.properties.type == JobCancel.messageType }.map { try MessageCodec.decodeCancel($0.body) }
    }

    @Test func aRedeliveredAttemptIsAbandonedAndTheJobDispatchedAgain() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, publisher in
            _ = try await SchedulerEngineTests.start(engine, store)
            _ = await engine.handle([.started(Self.first, agent: Self.holder)])
            // agent-1's connection closed: the broker gave the message to agent-2, which did not run it.
            let outcomes = await engine.handle([.redelivered(Self.first, agent: Self.other)])
            #expect(outcomes.allSatisfy { if case .done = $0 { true } else { false } })

            let jobs = try await SchedulerEngineTests.jobs(on: publisher)
            #expect(jobs.map(\.jobAttempt) == [Self.first, Self.second])
            let job = try #require(try await store.pipelineRun("app", counter: 1)?.job(Self.compile.key))
            #expect(job.attempt == 2 && job.state == .scheduled)
            #expect(job.abandoned.map(\.attempt) == [1] && job.abandoned.first?.agentID == "agent-1")
            #expect(job.abandoned.first?.reason.contains("came back from the broker") == true)
            // agent-1, should it still be running attempt 1, is told to stop it (and only that).
            #expect(try await Self.cancels(on: publisher).map { [$0.attempt, $0.agent] as [AnyHashable?] } == [[1, "agent-1"]])
            // The reason is in both consoles.
            #expect(try await store.console(of: Self.compile.key, pipeline: "app", counter: 1, attempt: 1)?.text.contains("Attempt 1 on agent agent-1 was abandoned") == true)
            #expect(try await store.console(of: Self.compile.key, pipeline: "app", counter: 1)?.text.hasPrefix("[relevo] Attempt 2 of this job") == true)

            // A second report of the same redelivery, and agent-1's late result, change nothing.
            _ = await engine.handle([.redelivered(Self.first, agent: Self.other), .finished(Self.first, result: .passed, agent: "agent-1")])
            #expect(try await SchedulerEngineTests.jobs(on: publisher).count == 2)
            #expect(try await store.pipelineRun("app", counter: 1)?.job(Self.compile.key)?.state == .scheduled)

            // Attempt 2 runs and its result counts.
            _ = await engine.handle([.started(Self.second, agent: Self.other), .finished(Self.second, result: .passed, agent: "agent-2")])
            #expect(try await store.pipelineRun("app", counter: 1)?.job(Self.compile.key)?.result == .passed)
        }
    }

    @Test func aRedeliveredAttemptWhoseAgentStillRunsItGoesOnThere() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, publisher in
            _ = try await SchedulerEngineTests.start(engine, store)
            await engine.setRedeliveryGrace(0.05)
            // agent-1 runs the job and says so in its heartbeat; a node of the broker's cluster dies,
            // agent-1's consumer connection with it, and the message goes to agent-2.
            _ = await engine.handle([.started(Self.first, agent: Self.holder),
                                     .heartbeat(Self.holder, busyJobs: [Self.compile], catalogVersion: 0)])
            _ = await engine.handle([.redelivered(Self.first, agent: Self.other)])
            // agent-1 reconnects and its heartbeat still names the job: it goes on there.
            _ = await engine.handle([.heartbeat(Self.holder, busyJobs: [Self.compile], catalogVersion: 0)])
            try await Task.sleep(for: .milliseconds(100))
            await engine.settleRedeliveries()
            #expect(try await SchedulerEngineTests.jobs(on: publisher).map(\.jobAttempt) == [Self.first], "not dispatched again")
            #expect(try await Self.cancels(on: publisher).isEmpty)
            _ = await engine.handle([.finished(Self.first, result: .passed, agent: "agent-1")])
            #expect(try await store.pipelineRun("app", counter: 1)?.job(Self.compile.key)?.result == .passed)
        }
    }

    @Test func aRedeliveredAttemptWhoseAgentSaysNothingMoreIsAbandonedAfterTheGrace() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, publisher in
            _ = try await SchedulerEngineTests.start(engine, store)
            await engine.setRedeliveryGrace(0.05)
            // agent-1 was running it and crashed: no heartbeat comes after the redelivery.
            _ = await engine.handle([.started(Self.first, agent: Self.holder),
                                     .heartbeat(Self.holder, busyJobs: [Self.compile], catalogVersion: 0)])
            _ = await engine.handle([.redelivered(Self.first, agent: Self.other)])
            await engine.settleRedeliveries()
            #expect(try await SchedulerEngineTests.jobs(on: publisher).count == 1, "waits for the grace")
            try await Task.sleep(for: .milliseconds(100))
            await engine.settleRedeliveries()
            #expect(try await SchedulerEngineTests.jobs(on: publisher).map(\.jobAttempt) == [Self.first, Self.second])
        }
    }

    @Test func aRedeliveredAttemptWhoseAgentsNextHeartbeatNoLongerNamesItIsAbandonedWithoutTheGrace() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, publisher in
            _ = try await SchedulerEngineTests.start(engine, store)
            await engine.setRedeliveryGrace(3600)
            _ = await engine.handle([.started(Self.first, agent: Self.holder),
                                     .heartbeat(Self.holder, busyJobs: [Self.compile], catalogVersion: 0)])
            _ = await engine.handle([.redelivered(Self.first, agent: Self.other)])
            await engine.settleRedeliveries()
            #expect(try await SchedulerEngineTests.jobs(on: publisher).count == 1, "waits for the agent's word")
            // agent-1 is back and runs it no more (it stopped it, as a serial job whose delivery was lost).
            _ = await engine.handle([.heartbeat(Self.holder, busyJobs: [], catalogVersion: 0)])
            await engine.settleRedeliveries()
            #expect(try await SchedulerEngineTests.jobs(on: publisher).map(\.jobAttempt) == [Self.first, Self.second])
        }
    }

    @Test func theJobsOfALostAgentAreDispatchedAgainFromTheDatabase() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, publisher in
            _ = try await SchedulerEngineTests.start(engine, store)
            _ = await engine.handle([.heartbeat(Self.holder, busyJobs: [], catalogVersion: 0), .started(Self.first, agent: Self.holder)])
            // Heard from a moment ago: not lost.
            await engine.checkAgents(lostAfter: 60)
            #expect(try await SchedulerEngineTests.jobs(on: publisher).count == 1)
            // Silent for longer than allowed (here: at once).
            try await Task.sleep(for: .milliseconds(20))
            await engine.checkAgents(lostAfter: 0.01)
            #expect(try await store.agents().first?.state == .lostContact)
            #expect(try await SchedulerEngineTests.jobs(on: publisher).map(\.jobAttempt) == [Self.first, Self.second])
            let job = try #require(try await store.pipelineRun("app", counter: 1)?.job(Self.compile.key))
            #expect(job.abandoned.first?.reason.contains("its agent linux-1 lost contact") == true)
            // The next pass finds nothing more to do.
            await engine.checkAgents(lostAfter: 0.01)
            #expect(try await SchedulerEngineTests.jobs(on: publisher).count == 2)
        }
    }

    @Test func agentsAreNotJudgedWhileTheSchedulerMayHaveMissedTheirHeartbeats() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, publisher in
            _ = try await SchedulerEngineTests.start(engine, store)
            _ = await engine.handle([.heartbeat(Self.holder, busyJobs: [], catalogVersion: 0), .started(Self.first, agent: Self.holder)])
            try await Task.sleep(for: .milliseconds(50))
            // The events consumer just (re)started: heartbeats get their full time again.
            await engine.noteEventIntakeTrouble()
            await engine.checkAgents(lostAfter: 0.04)
            #expect(try await store.agents().first?.state != .lostContact)
            #expect(try await SchedulerEngineTests.jobs(on: publisher).count == 1)
        }
    }

    @Test func aSecondAgentTakingTheSameAttemptIsToldToStopAndItsResultIgnored() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, publisher in
            _ = try await SchedulerEngineTests.start(engine, store)
            _ = await engine.handle([.started(Self.first, agent: Self.holder)])
            // The dispatch was published twice (a lost confirm): agent-2 took the copy.
            let outcomes = await engine.handle([.accepted(Self.first, agent: Self.other)])
            #expect(outcomes.allSatisfy { if case .done = $0 { true } else { false } })
            #expect(try await Self.cancels(on: publisher).map { [$0.attempt, $0.agent] as [AnyHashable?] } == [[1, "agent-2"]])
            // Its "cancelled" does not end the job agent-1 runs.
            _ = await engine.handle([.finished(Self.first, result: .cancelled, agent: "agent-2")])
            #expect(try await store.pipelineRun("app", counter: 1)?.job(Self.compile.key)?.state == .building)
            _ = await engine.handle([.finished(Self.first, result: .passed, agent: "agent-1")])
            #expect(try await store.pipelineRun("app", counter: 1)?.job(Self.compile.key)?.result == .passed)
        }
    }

    @Test func aDeadLetteredJobMessageRunsAgainAsANewAttempt() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, publisher in
            _ = try await SchedulerEngineTests.start(engine, store)
            let letter = DeadLetter(kind: .job, originalQueue: SchedulerEngineTests.anyQueue, reason: "rejected by a consumer",
                                    jobRunID: Self.compile, attempt: 1, messageID: Self.first.description, bodyPrefix: "")
            #expect(try await engine.handle(letter) == "job \(Self.compile) dispatched again as attempt 2")
            #expect(try await SchedulerEngineTests.jobs(on: publisher).map(\.jobAttempt) == [Self.first, Self.second])
            // The same letter read again (at-least-once dead-lettering) is stale now.
            #expect(try await engine.handle(letter).hasPrefix("recorded: attempt 1"))
            #expect(try await SchedulerEngineTests.jobs(on: publisher).count == 2)
        }
    }
}

extension JobLivenessTests {
    @Test func anAgentTakingAnAbandonedAttemptIsToldToStopIt() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, publisher in
            _ = try await SchedulerEngineTests.start(engine, store)
            _ = await engine.handle([.started(Self.first, agent: Self.holder), .redelivered(Self.first, agent: Self.other)])
            let before = try await Self.cancels(on: publisher).count
            // Attempt 1's message was still in hand somewhere, and a worker takes it now.
            let outcomes = await engine.handle([.accepted(Self.first, agent: Self.other)])
            #expect(outcomes.allSatisfy { if case .done = $0 { true } else { false } })
            let cancels = try await Self.cancels(on: publisher).dropFirst(before)
            #expect(cancels.map { [$0.attempt, $0.agent] as [AnyHashable?] } == [[1, "agent-2"]])
            #expect(try await store.pipelineRun("app", counter: 1)?.job(Self.compile.key)?.attempt == 2)
        }
    }
}

extension JobLivenessTests {
    /// A job waits in its queue as long as it must; one whose message is gone from the queue
    /// (purged) before any agent took it is dispatched again.
    @Test func aDispatchedJobWhoseMessageLeftItsQueueUntakenRunsAgain() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, publisher in
            _ = try await SchedulerEngineTests.start(engine, store)
            try await Task.sleep(for: .milliseconds(30))
            // Still in its queue: left alone, however long it waits.
            #expect(await engine.abandonUndeliveredJobs(olderThan: 0.01) == 0)
            await publisher.purge(SchedulerEngineTests.anyQueue)
            #expect(await engine.abandonUndeliveredJobs(olderThan: 60) == 0)
            #expect(await engine.abandonUndeliveredJobs(olderThan: 0.01) == 1)
            #expect(try await SchedulerEngineTests.jobs(on: publisher).map(\.jobAttempt) == [Self.first, Self.second])
            let job = try #require(try await store.pipelineRun("app", counter: 1)?.job(Self.compile.key))
            #expect(job.abandoned.first?.reason.contains("holds no message") == true)
            // Attempt 2 is in the queue now: nothing more to do.
            try await Task.sleep(for: .milliseconds(30))
            #expect(await engine.abandonUndeliveredJobs(olderThan: 0.01) == 0)
        }
    }
}
