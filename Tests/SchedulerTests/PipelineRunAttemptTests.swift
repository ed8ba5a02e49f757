import Foundation
import Shared
import Testing

@testable import Scheduler

/// Attempts are the scheduler's: abandoned attempts, stale events, duplicates, events from an
/// attempt never dispatched, and results from an agent that does not hold the attempt.
struct PipelineRunAttemptTests {
    static let compile = Fixture.key("build", "compile")

    /// A run whose `compile` was accepted by agent-1 as attempt 1, abandoned (agent-1 lost
    /// contact), dispatched as attempt 2 and accepted by agent-2.
    static func abandoned() throws -> PipelineRun {
        var run = try Fixture.created(Fixture.buildTest)
        try Fixture.apply(
            [
                .jobAccepted(job: compile, attempt: 1, agent: "agent-1"),
                .jobStarted(job: compile, attempt: 1),
                .jobAbandoned(job: compile, attempt: 1, reason: "agent-1 lost contact"),
                .jobAccepted(job: compile, attempt: 2, agent: "agent-2"),
            ], to: &run)
        return run
    }

    @Test func anAbandonedAttemptIsRecordedAndTheNextOneDispatched() throws {
        var run = try Fixture.created(Fixture.buildTest)
        try Fixture.apply(
            [
                .jobAccepted(job: Self.compile, attempt: 1, agent: "agent-1"),
                .jobStarted(job: Self.compile, attempt: 1),
            ],
            to: &run)

        let actions = try run.on(.jobAbandoned(job: Self.compile, attempt: 1, reason: "agent-1 lost contact"), at: Fixture.at(10))
        #expect(actions == [.dispatch(Fixture.attempt("build", "compile", attempt: 2))])

        let job = try #require(run.job(Self.compile))
        #expect(job.attempt == 2)
        #expect(job.state == .scheduled)
        #expect(job.agentID == nil)
        #expect(job.assignedAt == nil && job.startedAt == nil)
        #expect(job.scheduledAt == Fixture.at(10))
        #expect(job.abandoned == [AbandonedAttempt(attempt: 1, agentID: "agent-1", reason: "agent-1 lost contact", at: Fixture.at(10))])

        _ = try run.on(.jobAccepted(job: Self.compile, attempt: 2, agent: "agent-2"), at: Fixture.at(11))
        #expect(run.job(Self.compile)?.state == .assigned)
        #expect(run.job(Self.compile)?.agentID == "agent-2")
    }

    @Test func aJobFailsOnceItHasHadItsLastAttempt() throws {
        let definition = Fixture.pipeline(stages: [Fixture.stage("build", jobs: [Fixture.job("compile")])])
        var run = try Fixture.created(definition)
        for attempt in 1..<JobRun.maximumAttempts {
            let actions = try run.on(.jobAbandoned(job: Self.compile, attempt: attempt, reason: "worker died"), at: Fixture.at(attempt))
            #expect(actions == [.dispatch(Fixture.attempt("build", "compile", attempt: attempt + 1))])
        }
        let actions = try run.on(.jobAbandoned(job: Self.compile, attempt: JobRun.maximumAttempts, reason: "worker died"), at: Fixture.at(99))
        #expect(actions == [.stageCompleted(stage: "build", result: .failed), .pipelineCompleted(result: .failed)])
        let job = try #require(run.job(Self.compile))
        #expect(job.state == .completed && job.result == .failed)
        #expect(job.abandoned.count == JobRun.maximumAttempts)
    }

    @Test(arguments: [
        PipelineEvent.jobAccepted(job: compile, attempt: 1, agent: "agent-1"),
        .jobAccepted(job: compile, attempt: 1, agent: "agent-3"),
        .jobStarted(job: compile, attempt: 1),
        .jobFinished(job: compile, attempt: 1, result: .passed),
        .jobFinished(job: compile, attempt: 1, result: .failed, agent: "agent-1"),
        .jobAbandoned(job: compile, attempt: 1, reason: "again"),
    ])
    func eventsOfAnAbandonedAttemptAreStale(_ event: PipelineEvent) throws {
        var run = try Self.abandoned()
        let before = run
        #expect(try run.on(event, at: Fixture.at(50)) == [])
        #expect(run == before)
    }

    @Test(arguments: [
        PipelineEvent.jobAccepted(job: compile, attempt: 2, agent: "agent-2"),
        // A result from another agent than the one that accepted the attempt (a second delivery
        // of the attempt, told to stop) is ignored.
        .jobFinished(job: compile, attempt: 2, result: .cancelled, agent: "agent-3"),
        .jobFinished(job: compile, attempt: 2, result: .passed, agent: "agent-3"),
    ])
    func duplicatesAndOtherAgentsResultsChangeNothing(_ event: PipelineEvent) throws {
        var run = try Self.abandoned()
        let before = run
        #expect(try run.on(event, at: Fixture.at(50)) == [])
        #expect(run == before)
    }

    @Test func aSecondAgentAcceptingTheSameAttemptIsAConflict() throws {
        var run = try Self.abandoned()
        #expect(throws: SchedulingError.self) {
            try run.on(.jobAccepted(job: Self.compile, attempt: 2, agent: "agent-3"), at: Fixture.at(50))
        }
    }

    @Test(arguments: [
        PipelineEvent.jobAccepted(job: compile, attempt: 3, agent: "agent-9"),
        .jobStarted(job: compile, attempt: 3),
        .jobFinished(job: compile, attempt: 3, result: .passed),
        .jobAbandoned(job: compile, attempt: 3, reason: "never dispatched"),
    ])
    func anAttemptNeverDispatchedIsRefused(_ event: PipelineEvent) throws {
        var run = try Self.abandoned()
        let before = run
        let error = try #require(throws: SchedulingError.self) { try run.on(event, at: Fixture.at(50)) }
        #expect(error.code == .invalidAttempt)
        #expect(run == before)
    }

    @Test(arguments: [
        PipelineEvent.jobStarted(job: compile, attempt: 1),
        .jobAccepted(job: compile, attempt: 1, agent: "agent-1"),
        .jobFinished(job: compile, attempt: 1, result: .passed),
        .jobAbandoned(job: compile, attempt: 1, reason: "late"),
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

    @Test func theNextAttemptsResultCompletesTheStage() throws {
        var run = try Self.abandoned()
        let actions = try run.on(.jobFinished(job: Self.compile, attempt: 2, result: .passed, agent: "agent-2"), at: Fixture.at(20))
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
