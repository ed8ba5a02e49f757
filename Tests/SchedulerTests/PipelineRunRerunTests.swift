import Foundation
import Shared
import Testing

@testable import Scheduler

/// Running an ended stage again (GoCD's re-run, run failed jobs, run selected jobs).
struct PipelineRunRerunTests {
    /// `build` (compile, lint) then `test` (unit ×2), both automatic.
    static let buildTwoJobs = Fixture.pipeline(stages: [
        Fixture.stage("build", jobs: [Fixture.job("compile"), Fixture.job("lint")]),
        Fixture.stage("test", jobs: [Fixture.job("unit", instances: 2)]),
    ])

    /// A run whose `build` ended with compile passed and lint failed.
    static func failedBuild() throws -> PipelineRun {
        var run = try Fixture.created(buildTwoJobs)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile")), to: &run)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "lint"), result: .failed), to: &run, from: 10)
        return run
    }

    static func attempt(_ stage: String, _ stageCounter: Int, _ job: String, index: Int = 1) -> JobAttempt {
        JobAttempt(jobRunID: JobRunID(pipeline: "app", pipelineCounter: 1, stage: stage, stageCounter: stageCounter, job: job,
                                      runIndex: index), attempt: 1)
    }

    @Test func rerunningAFailedStageMakesANewStageRunAndTheRunGoesOn() throws {
        var run = try Self.failedBuild()
        #expect(run.state == .failed)

        let actions = try run.on(.rerun(stage: "build", jobs: .all, user: "ana"), at: Fixture.at(30))

        #expect(actions == [.dispatch(Self.attempt("build", 2, "compile")), .dispatch(Self.attempt("build", 2, "lint"))])
        #expect(run.stages.map(\.counter) == [2, 1])
        #expect(run.stages[0].rerunOfCounter == 1)
        #expect(run.stages[0].approvedBy == "ana")
        #expect(run.previousStages.map { "\($0.name)/\($0.counter)/\($0.state.rawValue)" } == ["build/1/failed"])
        #expect(run.state == .building)
        #expect(run.completedAt == nil)

        try Fixture.apply(Fixture.lifecycle(JobKey(stage: "build", stageCounter: 2, job: "compile")), to: &run, from: 40)
        let passed = try Fixture.apply(Fixture.lifecycle(JobKey(stage: "build", stageCounter: 2, job: "lint")), to: &run, from: 50)

        // The stage after it had never run: it starts as its first run.
        #expect(passed == [
            .stageCompleted(stage: "build", result: .passed),
            .dispatch(Self.attempt("test", 1, "unit", index: 1)),
            .dispatch(Self.attempt("test", 1, "unit", index: 2)),
        ])
        #expect(run.stages.map(\.counter) == [2, 1])
    }

    @Test func runFailedJobsCopiesThePassedOnesWithTheirResults() throws {
        var run = try Self.failedBuild()
        let compile = run.job(Fixture.key("build", "compile"))

        let actions = try run.on(.rerun(stage: "build", jobs: .failed, user: "ana"), at: Fixture.at(30))

        #expect(actions == [.dispatch(Self.attempt("build", 2, "lint"))])
        let copy = try #require(run.job(JobKey(stage: "build", stageCounter: 2, job: "compile")))
        #expect(copy.originalStageCounter == 1)
        #expect(copy.result == .passed && copy.state == .completed)
        #expect(copy.completedAt == compile?.completedAt && copy.agentID == compile?.agentID)
        #expect(run.job(JobKey(stage: "build", stageCounter: 2, job: "lint"))?.state == .scheduled)
        // The first run is history, unchanged.
        #expect(run.job(Fixture.key("build", "lint"))?.result == .failed)

        // A copy of a copy still points at the run where the job really ran.
        try Fixture.apply(Fixture.lifecycle(JobKey(stage: "build", stageCounter: 2, job: "lint"), result: .failed), to: &run, from: 40)
        _ = try run.on(.rerun(stage: "build", jobs: .failed, user: "ana"), at: Fixture.at(50))
        #expect(run.job(JobKey(stage: "build", stageCounter: 3, job: "compile"))?.originalStageCounter == 1)
        #expect(run.previousStages.map(\.counter) == [1, 2])
    }

    @Test func runSelectedJobsTakesNamesAndRunInstanceNames() throws {
        var run = try Fixture.created(Self.buildTwoJobs)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile")), to: &run)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "lint")), to: &run, from: 5)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("test", "unit", 1)), to: &run, from: 10)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("test", "unit", 2)), to: &run, from: 15)
        #expect(run.state == .passed)

        let actions = try run.on(.rerun(stage: "test", jobs: .named(["unit-runInstance-2"]), user: "ana"), at: Fixture.at(30))

        #expect(actions == [.dispatch(Self.attempt("test", 2, "unit", index: 2))])
        #expect(run.job(JobKey(stage: "test", stageCounter: 2, job: "unit", runIndex: 1))?.isCopy == true)
        #expect(run.state == .building)
    }

    @Test func aPassedRerunRunsTheFollowingStagesAgainAsNewRuns() throws {
        var run = try Fixture.created(Self.buildTwoJobs)
        for (offset, key) in [Fixture.key("build", "compile"), Fixture.key("build", "lint"), Fixture.key("test", "unit", 1),
                              Fixture.key("test", "unit", 2)].enumerated() {
            try Fixture.apply(Fixture.lifecycle(key), to: &run, from: offset * 5)
        }
        _ = try run.on(.rerun(stage: "build", jobs: .named(["lint"]), user: "ana"), at: Fixture.at(30))

        let actions = try Fixture.apply(Fixture.lifecycle(JobKey(stage: "build", stageCounter: 2, job: "lint")), to: &run, from: 40)

        #expect(actions == [
            .stageCompleted(stage: "build", result: .passed),
            .dispatch(Self.attempt("test", 2, "unit", index: 1)),
            .dispatch(Self.attempt("test", 2, "unit", index: 2)),
        ])
        #expect(run.stages.map { "\($0.name)/\($0.counter)" } == ["build/2", "test/2"])
        #expect(run.stages[1].rerunOfCounter == nil)
        #expect(run.previousStages.map { "\($0.name)/\($0.counter)" } == ["build/1", "test/1"])
    }

    @Test func aManualStageAfterAPassedRerunWaitsAgain() throws {
        var run = try Fixture.created(Fixture.buildDeploy(.manual))
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile")), to: &run)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "lint")), to: &run, from: 5)
        _ = try run.on(.approve(stage: "deploy", user: "ana"), at: Fixture.at(10))
        try Fixture.apply(Fixture.lifecycle(Fixture.key("deploy", "push")), to: &run, from: 12)
        _ = try run.on(.rerun(stage: "build", jobs: .all, user: "ana"), at: Fixture.at(20))
        try Fixture.apply(Fixture.lifecycle(JobKey(stage: "build", stageCounter: 2, job: "compile")), to: &run, from: 30)

        let actions = try Fixture.apply(Fixture.lifecycle(JobKey(stage: "build", stageCounter: 2, job: "lint")), to: &run, from: 40)

        #expect(actions == [.stageCompleted(stage: "build", result: .passed), .awaitingApproval(stage: "deploy")])
        #expect(run.stages[1].counter == 2 && run.stages[1].state == .awaitingApproval)
        #expect(run.state == .awaitingApproval)
    }

    @Test func refusals() throws {
        var building = try Fixture.created(Self.buildTwoJobs)
        #expect(throws: SchedulingError.self) { try building.on(.rerun(stage: "build", jobs: .all, user: "ana"), at: Fixture.at(1)) }
        #expect(code(of: .rerun(stage: "build", jobs: .all, user: "ana"), on: &building) == .stageNotCompleted)

        var failed = try Self.failedBuild()
        #expect(code(of: .rerun(stage: "test", jobs: .all, user: "ana"), on: &failed) == .stageNotCompleted)  // never reached
        #expect(code(of: .rerun(stage: "deploy", jobs: .all, user: "ana"), on: &failed) == .unknownStage)
        #expect(code(of: .rerun(stage: "build", jobs: .named(["nope"]), user: "ana"), on: &failed) == .unknownJob)
        #expect(code(of: .rerun(stage: "build", jobs: .named([]), user: "ana"), on: &failed) == .nothingToRerun)

        var passed = try Fixture.created(Fixture.buildTest)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile")), to: &passed)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("test", "unit", 1)), to: &passed, from: 5)
        #expect(code(of: .rerun(stage: "build", jobs: .all, user: "ana"), on: &passed) == .stageNotCompleted)  // test builds
        try Fixture.apply(Fixture.lifecycle(Fixture.key("test", "unit", 2)), to: &passed, from: 10)
        #expect(code(of: .rerun(stage: "build", jobs: .failed, user: "ana"), on: &passed) == .nothingToRerun)
    }

    @Test func aLateEventAboutTheEarlierStageRunIsStale() throws {
        var run = try Fixture.created(Self.buildTwoJobs)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile")), to: &run)
        _ = try run.on(.cancel(user: "ana"), at: Fixture.at(5))
        _ = try run.on(.rerun(stage: "build", jobs: .failed, user: "ana"), at: Fixture.at(10))
        let before = run

        // lint's worker reports after the cancel and the re-run: it changes nothing.
        #expect(try run.on(.jobFinished(job: Fixture.key("build", "lint"), attempt: 1, result: .passed), at: Fixture.at(11)) == [])
        #expect(run == before)
        #expect(run.job(JobKey(stage: "build", stageCounter: 2, job: "lint"))?.state == .scheduled)
    }

    private func code(of event: PipelineEvent, on run: inout PipelineRun) -> SchedulingError.Code? {
        let before = run
        do {
            _ = try run.on(event, at: Fixture.at(99))
            return nil
        } catch {
            #expect(run == before, "a refused event changes nothing")
            return error.code
        }
    }
}
