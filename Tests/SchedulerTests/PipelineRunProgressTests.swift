import Foundation
import Shared
import Testing

@testable import Scheduler

/// Stages advancing through their jobs' results and approvals.
struct PipelineRunProgressTests {
    /// One step of a scripted run: the event and exactly the actions it must return.
    struct Step: Sendable {
        var event: PipelineEvent
        var actions: [PipelineAction]
        var state: PipelineState
    }

    @Test func aPassingRunGoesThroughEveryStage() throws {
        let compile = Fixture.key("build", "compile")
        let unit1 = Fixture.key("test", "unit", 1)
        let unit2 = Fixture.key("test", "unit", 2)
        let steps: [Step] = [
            Step(event: .created, actions: [.dispatch(Fixture.attempt("build", "compile"))], state: .building),
            Step(event: .jobAccepted(job: compile, attempt: 1, agent: "a1"), actions: [], state: .building),
            Step(event: .jobStarted(job: compile, attempt: 1), actions: [], state: .building),
            Step(
                event: .jobFinished(job: compile, attempt: 1, result: .passed),
                actions: [
                    .stageCompleted(stage: "build", result: .passed),
                    .dispatch(Fixture.attempt("test", "unit", index: 1)),
                    .dispatch(Fixture.attempt("test", "unit", index: 2)),
                ], state: .building),
            Step(event: .jobAccepted(job: unit2, attempt: 1, agent: "a2"), actions: [], state: .building),
            Step(event: .jobFinished(job: unit2, attempt: 1, result: .passed), actions: [], state: .building),
            Step(event: .jobAccepted(job: unit1, attempt: 1, agent: "a1"), actions: [], state: .building),
            Step(
                event: .jobFinished(job: unit1, attempt: 1, result: .passed),
                actions: [.stageCompleted(stage: "test", result: .passed), .pipelineCompleted(result: .passed)],
                state: .passed),
        ]
        var run = try Fixture.run(Fixture.buildTest)
        for (offset, step) in steps.enumerated() {
            #expect(try run.on(step.event, at: Fixture.at(offset)) == step.actions, "step \(offset): \(step.event)")
            #expect(run.state == step.state, "step \(offset): \(step.event)")
        }
        #expect(run.result == .passed)
        #expect(run.completedAt == Fixture.at(steps.count - 1))
        let compileRun = try #require(run.job(compile))
        #expect(compileRun.state == .completed)
        #expect(compileRun.agentID == "a1")
        #expect(compileRun.assignedAt == Fixture.at(1))
        #expect(compileRun.startedAt == Fixture.at(2))
        #expect(compileRun.completedAt == Fixture.at(3))
        #expect(run.stages.map(\.completedAt) == [Fixture.at(3), Fixture.at(7)])
    }

    @Test func aFailedJobDoesNotCancelItsSiblingsAndStopsTheRun() throws {
        var run = try Fixture.created(Fixture.buildDeploy(.success))
        let failed = try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile"), result: .failed), to: &run)
        #expect(failed == [])
        #expect(run.stages[0].state == .building)
        let lint = try #require(run.job(Fixture.key("build", "lint")))
        #expect(lint.state == .scheduled)

        let last = try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "lint")), to: &run, from: 10)

        #expect(last == [.stageCompleted(stage: "build", result: .failed), .pipelineCompleted(result: .failed)])
        #expect(run.job(Fixture.key("build", "lint"))?.result == .passed)
        #expect(run.stages.map(\.state) == [.failed, .pending])
        #expect(run.state == .failed)
    }

    @Test func aManualStageAfterAPassedStagePausesTheRun() throws {
        var run = try Fixture.created(Fixture.buildDeploy(.manual))
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile")), to: &run)
        let actions = try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "lint")), to: &run, from: 10)

        #expect(actions == [.stageCompleted(stage: "build", result: .passed), .awaitingApproval(stage: "deploy")])
        #expect(run.state == .awaitingApproval)
        #expect(!run.isCompleted)
        #expect(run.result == nil)

        #expect(
            try run.on(.approve(stage: "deploy", user: "ops"), at: Fixture.at(20)) == [
                .dispatch(Fixture.attempt("deploy", "push"))
            ])
        let done = try Fixture.apply(Fixture.lifecycle(Fixture.key("deploy", "push")), to: &run, from: 30)
        #expect(done == [.stageCompleted(stage: "deploy", result: .passed), .pipelineCompleted(result: .passed)])
    }

    @Test func allowOnlyOnSuccessForbidsApprovalAfterAFailure() throws {
        var run = try Fixture.created(Fixture.buildDeploy(Fixture.manualOnlyOnSuccess))
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile"), result: .failed), to: &run)
        let actions = try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "lint")), to: &run, from: 10)
        #expect(actions == [.stageCompleted(stage: "build", result: .failed), .pipelineCompleted(result: .failed)])

        let before = run
        let error = #expect(throws: SchedulingError.self) {
            try run.on(.approve(stage: "deploy", user: "ops"), at: Fixture.at(20))
        }
        #expect(error?.code == .previousStageNotPassed)
        #expect(run == before)
    }

    @Test func allowOnlyOnSuccessStillAllowsApprovalAfterAPass() throws {
        var run = try Fixture.created(Fixture.buildDeploy(Fixture.manualOnlyOnSuccess))
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile")), to: &run)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "lint")), to: &run, from: 10)
        #expect(try run.on(.approve(stage: "deploy", user: "ops"), at: Fixture.at(20)).count == 1)
    }

    @Test func withoutAllowOnlyOnSuccessAManualStageMayRunAfterAFailure() throws {
        var run = try Fixture.created(Fixture.buildDeploy(.manual))
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile"), result: .failed), to: &run)
        let actions = try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "lint")), to: &run, from: 10)

        #expect(actions == [.stageCompleted(stage: "build", result: .failed), .awaitingApproval(stage: "deploy")])
        #expect(run.state == .awaitingApproval)

        #expect(
            try run.on(.approve(stage: "deploy", user: "ops"), at: Fixture.at(20)) == [
                .dispatch(Fixture.attempt("deploy", "push"))
            ])
        let done = try Fixture.apply(Fixture.lifecycle(Fixture.key("deploy", "push")), to: &run, from: 30)
        #expect(done == [.stageCompleted(stage: "deploy", result: .passed), .pipelineCompleted(result: .failed)])
        #expect(run.stages.map(\.state) == [.failed, .passed])
    }

    @Test func aJobCancelledByItsWorkerCancelsTheStageOnceTheOthersFinish() throws {
        var run = try Fixture.created(Fixture.buildDeploy(.success))
        let first = try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile"), result: .cancelled), to: &run)
        #expect(first == [])
        let last = try Fixture.apply(
            Fixture.lifecycle(Fixture.key("build", "lint"), result: .failed), to: &run, from: 10)
        #expect(last == [.stageCompleted(stage: "build", result: .cancelled), .pipelineCompleted(result: .cancelled)])
        #expect(run.state == .cancelled)
    }

    @Test func aJobMayFinishWithoutReportedAcceptanceOrStart() throws {
        var run = try Fixture.created(Fixture.buildTest)
        let actions = try run.on(
            .jobFinished(job: Fixture.key("build", "compile"), attempt: 1, result: .failed), at: Fixture.at(1))
        #expect(actions == [.stageCompleted(stage: "build", result: .failed), .pipelineCompleted(result: .failed)])
        #expect(run.job(Fixture.key("build", "compile"))?.agentID == nil)
    }
}
