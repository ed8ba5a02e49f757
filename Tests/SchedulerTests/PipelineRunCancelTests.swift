import Foundation
import Shared
import Testing

@testable import Scheduler

/// Cancelling a run.
struct PipelineRunCancelTests {
    @Test func cancellingStopsUnfinishedJobsAndKeepsFinishedResults() throws {
        var run = try Fixture.created(Fixture.buildDeploy(.success))
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile")), to: &run)
        _ = try run.on(.jobAccepted(job: Fixture.key("build", "lint"), attempt: 1, agent: "a2"), at: Fixture.at(10))

        let actions = try run.on(.cancel(user: "ana"), at: Fixture.at(20))

        #expect(
            actions == [
                .cancelJob(Fixture.attempt("build", "lint").jobRunID),
                .stageCompleted(stage: "build", result: .cancelled),
                .pipelineCompleted(result: .cancelled),
            ])
        #expect(run.job(Fixture.key("build", "compile"))?.result == .passed)
        #expect(run.job(Fixture.key("build", "lint"))?.result == .cancelled)
        #expect(run.job(Fixture.key("build", "lint"))?.completedAt == Fixture.at(20))
        #expect(run.stages.map(\.state) == [.cancelled, .pending])
        #expect(run.state == .cancelled)
        #expect(run.completedAt == Fixture.at(20))
    }

    @Test(arguments: [JobResult.passed, .failed, .cancelled])
    func theCancelledWorkersLateReportIsIgnored(_ result: JobResult) throws {
        var run = try Fixture.created(Fixture.buildTest)
        _ = try run.on(.jobStarted(job: Fixture.key("build", "compile"), attempt: 1), at: Fixture.at(1))
        _ = try run.on(.cancel(user: "ana"), at: Fixture.at(2))
        let before = run
        #expect(
            try run.on(
                .jobFinished(job: Fixture.key("build", "compile"), attempt: 1, result: result), at: Fixture.at(3))
                == [])
        #expect(run == before)
    }

    @Test func cancellingARunThatAwaitsApprovalCancelsTheWaitingStage() throws {
        var run = try Fixture.created(Fixture.buildDeploy(.manual))
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "compile")), to: &run)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "lint")), to: &run, from: 10)
        #expect(run.state == .awaitingApproval)

        let actions = try run.on(.cancel(user: "ana"), at: Fixture.at(20))

        #expect(
            actions == [.stageCompleted(stage: "deploy", result: .cancelled), .pipelineCompleted(result: .cancelled)])
        #expect(run.stages.map(\.state) == [.passed, .cancelled])
        #expect(run.stages[1].jobs.isEmpty)
        let error = #expect(throws: SchedulingError.self) {
            try run.on(.approve(stage: "deploy", user: "ops"), at: Fixture.at(21))
        }
        // The cancelled gate cannot be approved any more; it can only be re-run.
        #expect(error?.code == .stageNotAwaitingApproval)
        #expect(error?.message.contains("re-run deploy/1") == true)
    }
}
