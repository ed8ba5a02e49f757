import Foundation
import Shared
import Testing

@testable import Scheduler

/// Creating a run and starting its first stage.
struct PipelineRunStartTests {
    @Test func createdDispatchesEveryCopyOfEveryJobOfAnAutomaticFirstStage() throws {
        let definition = Fixture.pipeline(stages: [
            Fixture.stage("build", jobs: [Fixture.job("compile"), Fixture.job("split", instances: 3)])
        ])
        var run = try Fixture.run(definition)
        #expect(run.state == .pending)

        let actions = try run.on(.created, at: Fixture.t0)

        #expect(
            actions == [
                .dispatch(Fixture.attempt("build", "compile")),
                .dispatch(Fixture.attempt("build", "split", index: 1)),
                .dispatch(Fixture.attempt("build", "split", index: 2)),
                .dispatch(Fixture.attempt("build", "split", index: 3)),
            ])
        #expect(run.state == .building)
        #expect(run.stages[0].state == .building)
        #expect(run.stages[0].jobs.map(\.state) == [.scheduled, .scheduled, .scheduled, .scheduled])
        #expect(
            run.stages[0].jobs.allSatisfy { $0.attempt == 1 && $0.result == .unknown && $0.scheduledAt == Fixture.t0 })
    }

    @Test func laterStagesStayPendingWithoutJobs() throws {
        let run = try Fixture.created(Fixture.buildTest)
        #expect(run.stages.map(\.state) == [.building, .pending])
        #expect(run.stages[1].jobs.isEmpty)
        #expect(run.stages[1].jobPlans == [JobPlan(name: "unit", runCount: 2)])
    }

    @Test func aManualFirstStageWaitsForApprovalThenDispatches() throws {
        let definition = Fixture.pipeline(stages: [
            Fixture.stage("deploy", approval: .manual, jobs: [Fixture.job("push")])
        ])
        var run = try Fixture.run(definition)

        #expect(try run.on(.created, at: Fixture.t0) == [.awaitingApproval(stage: "deploy")])
        #expect(run.state == .awaitingApproval)
        #expect(!run.isCompleted)

        let actions = try run.on(.approve(stage: "deploy", user: "bob"), at: Fixture.at(5))
        #expect(actions == [.dispatch(Fixture.attempt("deploy", "push"))])
        #expect(run.stages[0].approvedBy == "bob")
        #expect(run.stages[0].approvedAt == Fixture.at(5))
        #expect(run.state == .building)
    }

    @Test func theRunKeepsItsLabelCauseAndPinnedRevisions() throws {
        let template = try LabelTemplate(parsing: "1.${COUNT}-${app[:7]}")
        let definition = Fixture.pipeline(label: template, stages: [Fixture.stage("build", jobs: [Fixture.job("c")])])
        let run = try PipelineRun(
            definition: definition, counter: 42, cause: .upstream(pipeline: "lib", counter: 7, stage: "package"),
            materialRevisions: ["app": "0123456789abcdef"], createdAt: Fixture.t0)
        #expect(run.label == "1.42-0123456")
        #expect(run.counter == 42)
        #expect(run.cause == .upstream(pipeline: "lib", counter: 7, stage: "package"))
        #expect(run.materialRevisions == ["app": "0123456789abcdef"])
    }

    @Test func runOnAllAgentsUsesTheCountGivenAtCreation() throws {
        var all = Fixture.job("smoke")
        all.runInstances = .all
        let definition = Fixture.pipeline(stages: [Fixture.stage("check", jobs: [all])])
        var run = try PipelineRun(
            definition: definition, counter: 1, cause: .materialChange, materialRevisions: [:], createdAt: Fixture.t0,
            runOnAllCount: { _ in 2 })
        let actions = try run.on(.created, at: Fixture.t0)
        #expect(actions.count == 2)
        #expect(run.stages[0].jobs.map(\.runCount) == [2, 2])
    }

    @Test(arguments: [
        ("no stages", Fixture.pipeline(stages: [])),
        ("a stage without jobs", Fixture.pipeline(stages: [Fixture.stage("empty", jobs: [])])),
    ])
    func aDefinitionThatCannotRunIsRefused(_ name: String, _ definition: PipelineDefinition) {
        let error = #expect(throws: SchedulingError.self) { try Fixture.run(definition) }
        #expect(error?.code == .invalidDefinition)
        #expect(error?.isRetriable == false)
    }

    @Test func theLocatorNamesRunInstancesAsGoCDDoes() {
        #expect(Fixture.attempt("build", "compile").jobRunID.locator(runCount: 1) == "app/1/build/1/compile")
        #expect(Fixture.attempt("test", "unit", index: 2).jobRunID.locator(runCount: 3) == "app/1/test/1/unit-runInstance-2")
    }
}
