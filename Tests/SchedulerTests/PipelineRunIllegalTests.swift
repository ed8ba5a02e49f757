import Foundation
import Shared
import Testing

@testable import Scheduler

/// Events the state machine must refuse, leaving the run unchanged.
struct PipelineRunIllegalTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var definition: PipelineDefinition = Fixture.buildTest
        /// Applied first; all legal.
        var before: [PipelineEvent] = [.created]
        var event: PipelineEvent
        var code: SchedulingError.Code
        var testDescription: String { name }
    }

    static let compile = Fixture.key("build", "compile")
    static let lint = Fixture.key("build", "lint")
    static let passBuild = [PipelineEvent.created] + Fixture.lifecycle(compile) + Fixture.lifecycle(lint)
    static let failBuild =
        [PipelineEvent.created] + Fixture.lifecycle(compile, result: .failed) + Fixture.lifecycle(lint)
    static let single = Fixture.pipeline(stages: [Fixture.stage("build", jobs: [Fixture.job("compile")])])

    static let cases: [Case] = [
        Case(
            name: "an event before created", before: [], event: .jobStarted(job: compile, attempt: 1), code: .notCreated
        ),
        Case(name: "cancel before created", before: [], event: .cancel(user: "ana"), code: .notCreated),
        Case(name: "created twice", event: .created, code: .alreadyCreated),
        Case(
            name: "finishing a job of a stage not started",
            event: .jobFinished(job: Fixture.key("test", "unit"), attempt: 1, result: .passed),
            code: .jobNotDispatched),
        Case(
            name: "starting a job of a stage that will never start", definition: Fixture.buildDeploy(.success),
            before: failBuild, event: .jobStarted(job: Fixture.key("deploy", "push"), attempt: 1),
            code: .jobNotDispatched),
        Case(
            name: "an unknown job", event: .jobFinished(job: Fixture.key("build", "nope"), attempt: 1, result: .passed),
            code: .unknownJob),
        Case(
            name: "a run index beyond the job's count",
            event: .jobStarted(job: Fixture.key("build", "compile", 2), attempt: 1),
            code: .unknownJob),
        Case(
            name: "an unknown stage", event: .jobAccepted(job: Fixture.key("nope", "compile"), attempt: 1, agent: "a"),
            code: .unknownStage),
        Case(
            name: "an unknown stage counter",
            event: .jobStarted(job: JobKey(stage: "build", stageCounter: 2, job: "compile"), attempt: 1),
            code: .unknownStage),
        Case(name: "approving an unknown stage", event: .approve(stage: "nope", user: "ops"), code: .unknownStage),
        Case(
            name: "approving an automatic stage", event: .approve(stage: "build", user: "ops"),
            code: .stageNotAwaitingApproval),
        Case(
            name: "approving a manual stage not reached yet", definition: Fixture.buildDeploy(.manual),
            event: .approve(stage: "deploy", user: "ops"), code: .stageNotAwaitingApproval),
        Case(
            name: "approving a stage twice", definition: Fixture.buildDeploy(.manual),
            before: passBuild + [.approve(stage: "deploy", user: "ops")], event: .approve(stage: "deploy", user: "ops"),
            code: .stageNotAwaitingApproval),
        Case(
            name: "approving after a failure under allow_only_on_success",
            definition: Fixture.buildDeploy(Fixture.manualOnlyOnSuccess), before: failBuild,
            event: .approve(stage: "deploy", user: "ops"), code: .previousStageNotPassed),
        Case(
            name: "approving after the run failed", definition: Fixture.buildDeploy(.success), before: failBuild,
            event: .approve(stage: "deploy", user: "ops"), code: .pipelineCompleted),
        Case(
            name: "cancelling a completed run", definition: single,
            before: [.created] + Fixture.lifecycle(compile), event: .cancel(user: "ana"), code: .pipelineCompleted),
        Case(
            name: "a different result for the same attempt", definition: Fixture.buildDeploy(.success),
            before: [.created] + Fixture.lifecycle(compile),
            event: .jobFinished(job: compile, attempt: 1, result: .failed),
            code: .conflictingEvent),
        Case(
            name: "another agent for the same attempt",
            before: [.created, .jobAccepted(job: compile, attempt: 1, agent: "a1")],
            event: .jobAccepted(job: compile, attempt: 1, agent: "a2"), code: .conflictingEvent),
        Case(
            name: "a result of unknown", event: .jobFinished(job: compile, attempt: 1, result: .unknown),
            code: .invalidResult),
        Case(name: "attempt 0", event: .jobStarted(job: compile, attempt: 0), code: .invalidAttempt),
        Case(
            name: "an abandon of attempt 0", event: .jobAbandoned(job: compile, attempt: 0, reason: "x"), code: .invalidAttempt),
        Case(
            name: "an attempt never dispatched", event: .jobAccepted(job: compile, attempt: 2, agent: "a1"), code: .invalidAttempt),
    ]

    @Test(arguments: cases)
    func refused(_ testCase: Case) throws {
        var run = try Fixture.run(testCase.definition)
        try Fixture.apply(testCase.before, to: &run)
        let before = run

        let error = #expect(throws: SchedulingError.self) { try run.on(testCase.event, at: Fixture.at(100)) }

        #expect(error?.code == testCase.code)
        #expect(error?.isRetriable == false)
        #expect(error?.message.hasPrefix("app/1: ") == true)
        #expect(run == before)
    }
}
