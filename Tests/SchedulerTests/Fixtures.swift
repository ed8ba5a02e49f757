import Foundation
import Shared

@testable import Scheduler

/// Definitions, times and shortcuts shared by the suites.
enum Fixture {
    /// A fixed instant; every test time is an offset from it, in whole seconds.
    static let t0 = Date(timeIntervalSince1970: 1_750_000_000)

    /// `t0` plus `seconds`.
    static func at(_ seconds: Int) -> Date { t0.addingTimeInterval(TimeInterval(seconds)) }

    /// A job of one `true` task, with `instances` copies.
    static func job(_ name: String, instances: Int = 1) -> JobDefinition {
        JobDefinition(name: name, runInstances: .count(instances), tasks: [.exec(ExecTask(command: "true"))])
    }

    /// A stage with `jobs`.
    static func stage(_ name: String, approval: ApprovalDefinition = .success, jobs: [JobDefinition]) -> StageDefinition
    {
        StageDefinition(name: name, approval: approval, jobs: jobs)
    }

    /// A pipeline with one git material named `app`.
    static func pipeline(
        _ name: String = "app", label: LabelTemplate = .default, stages: [StageDefinition]
    ) -> PipelineDefinition {
        PipelineDefinition(
            name: name, labelTemplate: label,
            materials: [.git(GitMaterial(name: "app", url: "https://example.invalid/app.git"))], stages: stages,
            origin: ConfigLocation(file: "app.gocd.yaml", line: 1, column: 1))
    }

    /// `build` (compile) then `test` (unit ×2).
    static let buildTest = pipeline(stages: [
        stage("build", jobs: [job("compile")]),
        stage("test", jobs: [job("unit", instances: 2)]),
    ])

    /// `build` (compile, lint) then `deploy` (push), manual.
    static func buildDeploy(_ approval: ApprovalDefinition) -> PipelineDefinition {
        pipeline(stages: [
            stage("build", jobs: [job("compile"), job("lint")]),
            stage("deploy", approval: approval, jobs: [job("push")]),
        ])
    }

    /// A manual approval that `allow_only_on_success` restricts.
    static let manualOnlyOnSuccess = ApprovalDefinition(type: .manual, allowOnlyOnSuccess: true)

    /// A new, not yet created run of `definition` with counter 1.
    static func run(_ definition: PipelineDefinition, counter: Int = 1) throws -> PipelineRun {
        try PipelineRun(
            definition: definition, counter: counter, cause: .manual(user: "ana"),
            materialRevisions: ["app": "0123456789abcdef"], createdAt: t0)
    }

    /// A created run of `definition`.
    static func created(_ definition: PipelineDefinition) throws -> PipelineRun {
        var run = try run(definition)
        _ = try run.on(.created, at: t0)
        return run
    }

    /// The key of copy `index` of `job` in the first run of `stage`.
    static func key(_ stage: String, _ job: String, _ index: Int = 1) -> JobKey {
        JobKey(stage: stage, job: job, runIndex: index)
    }

    /// The events of one attempt of a job from acceptance to its result.
    static func lifecycle(
        _ key: JobKey, result: JobResult = .passed, attempt: Int = 1, agent: String = "agent-1"
    ) -> [PipelineEvent] {
        [
            .jobAccepted(job: key, attempt: attempt, agent: agent),
            .jobStarted(job: key, attempt: attempt),
            .jobFinished(job: key, attempt: attempt, result: result),
        ]
    }

    /// Applies `events` in order, one second apart from `start`; returns the last event's actions.
    @discardableResult
    static func apply(_ events: [PipelineEvent], to run: inout PipelineRun, from start: Int = 1) throws
        -> [PipelineAction]
    {
        var actions: [PipelineAction] = []
        for (offset, event) in events.enumerated() {
            actions = try run.on(event, at: at(start + offset))
        }
        return actions
    }

    /// The attempt a dispatch of `job` of run `counter` of `app` carries.
    static func attempt(
        _ stage: String, _ job: String, index: Int = 1, attempt: Int = 1, counter: Int = 1
    ) -> JobAttempt {
        JobAttempt(
            jobRunID: JobRunID(pipeline: "app", pipelineCounter: counter, stage: stage, stageCounter: 1, job: job, runIndex: index),
            attempt: attempt)
    }
}
