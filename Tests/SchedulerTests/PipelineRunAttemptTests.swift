import Foundation
import Shared
import Testing

@testable import Scheduler

/// Redeliveries, stale attempts and duplicate events.
struct PipelineRunAttemptTests {
    static let compile = Fixture.key("build", "compile")

    /// A run whose `compile` was accepted by agent-1 as attempt 1, then redelivered to agent-2
    /// as attempt 2 and accepted there.
    static func redelivered() throws -> PipelineRun {
        var run = try Fixture.created(Fixture.buildTest)
        try Fixture.apply(
            [
                .jobAccepted(job: compile, attempt: 1, agent: "agent-1"),
                .jobStarted(job: compile, attempt: 1),
                .jobRedelivered(job: compile, attempt: 2),
                .jobAccepted(job: compile, attempt: 2, agent: "agent-2"),
            ], to: &run)
        return run
    }

    @Test func aRedeliveryStartsTheJobOverAsTheNewAttempt() throws {
        var run = try Fixture.created(Fixture.buildTest)
        try Fixture.apply(
            [
                .jobAccepted(job: Self.compile, attempt: 1, agent: "agent-1"),
                .jobStarted(job: Self.compile, attempt: 1),
            ],
            to: &run)

        #expect(try run.on(.jobRedelivered(job: Self.compile, attempt: 2), at: Fixture.at(10)) == [])

        let job = try #require(run.job(Self.compile))
        #expect(job.attempt == 2)
        #expect(job.state == .scheduled)
        #expect(job.agentID == nil)
        #expect(job.assignedAt == nil && job.startedAt == nil)
        #expect(job.scheduledAt == Fixture.at(10))

        _ = try run.on(.jobAccepted(job: Self.compile, attempt: 2, agent: "agent-2"), at: Fixture.at(11))
        #expect(run.job(Self.compile)?.state == .assigned)
        #expect(run.job(Self.compile)?.agentID == "agent-2")
    }

    @Test(arguments: [
        PipelineEvent.jobAccepted(job: compile, attempt: 1, agent: "agent-1"),
        .jobAccepted(job: compile, attempt: 1, agent: "agent-3"),
        .jobStarted(job: compile, attempt: 1),
        .jobFinished(job: compile, attempt: 1, result: .passed),
        .jobFinished(job: compile, attempt: 1, result: .failed),
        .jobRedelivered(job: compile, attempt: 1),
    ])
    func eventsOfAnOlderAttemptAreStale(_ event: PipelineEvent) throws {
        var run = try Self.redelivered()
        let before = run
        #expect(try run.on(event, at: Fixture.at(50)) == [])
        #expect(run == before)
    }

    @Test(arguments: [
        PipelineEvent.jobAccepted(job: compile, attempt: 2, agent: "agent-2"),
        .jobRedelivered(job: compile, attempt: 2),
    ])
    func duplicatesOfTheCurrentAttemptAreIdempotent(_ event: PipelineEvent) throws {
        var run = try Self.redelivered()
        let before = run
        #expect(try run.on(event, at: Fixture.at(50)) == [])
        #expect(run == before)
    }

    @Test(arguments: [
        PipelineEvent.jobStarted(job: compile, attempt: 1),
        .jobAccepted(job: compile, attempt: 1, agent: "agent-1"),
        .jobFinished(job: compile, attempt: 1, result: .passed),
        .jobRedelivered(job: compile, attempt: 2),
        .jobAccepted(job: compile, attempt: 2, agent: "agent-2"),
    ])
    func eventsAboutACompletedJobChangeNothing(_ event: PipelineEvent) throws {
        let definition = Fixture.pipeline(stages: [
            Fixture.stage("build", jobs: [Fixture.job("compile"), Fixture.job("lint")])
        ])
        var run = try Fixture.created(definition)
        try Fixture.apply(Fixture.lifecycle(Self.compile, agent: "agent-1"), to: &run)
        let before = run
        #expect(try run.on(event, at: Fixture.at(50)) == [])
        #expect(run == before)
    }

    @Test func anEventOfANewerAttemptImpliesTheRedelivery() throws {
        var run = try Fixture.created(Fixture.buildTest)
        _ = try run.on(.jobAccepted(job: Self.compile, attempt: 1, agent: "agent-1"), at: Fixture.at(1))

        #expect(try run.on(.jobStarted(job: Self.compile, attempt: 3), at: Fixture.at(2)) == [])

        let job = try #require(run.job(Self.compile))
        #expect(job.attempt == 3)
        #expect(job.state == .building)
        #expect(job.agentID == nil)
        // The late acceptance of attempt 3 fills in the agent.
        _ = try run.on(.jobAccepted(job: Self.compile, attempt: 3, agent: "agent-9"), at: Fixture.at(3))
        #expect(run.job(Self.compile)?.agentID == "agent-9")
        #expect(run.job(Self.compile)?.state == .building)
    }

    @Test func theRedeliveredAttemptsResultCompletesTheStage() throws {
        var run = try Self.redelivered()
        let actions = try run.on(.jobFinished(job: Self.compile, attempt: 2, result: .passed), at: Fixture.at(20))
        #expect(actions.first == .stageCompleted(stage: "build", result: .passed))
        #expect(actions.contains(.dispatch(Fixture.attempt("test", "unit", index: 2))))
        // The first worker's late result of attempt 1 is ignored.
        #expect(try run.on(.jobFinished(job: Self.compile, attempt: 1, result: .failed), at: Fixture.at(21)) == [])
        #expect(run.job(Self.compile)?.result == .passed)
    }

    @Test func aDuplicateResultIsIdempotentEvenAfterTheRunEnded() throws {
        let definition = Fixture.pipeline(stages: [Fixture.stage("build", jobs: [Fixture.job("compile")])])
        var run = try Fixture.created(definition)
        let finished = PipelineEvent.jobFinished(job: Self.compile, attempt: 1, result: .passed)
        #expect(try run.on(finished, at: Fixture.at(1)).last == .pipelineCompleted(result: .passed))
        let before = run
        #expect(try run.on(finished, at: Fixture.at(2)) == [])
        #expect(run == before)
    }
}
