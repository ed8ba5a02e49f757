import Foundation
import Shared

/// One instance of a pipeline (GoCD's pipeline instance): its counter and label, why it was
/// triggered, the material revisions every job builds from, and its stage runs in config order.
///
/// A pure value: ``on(_:at:)`` (in `PipelineRun+Transitions.swift`) moves it, and the caller
/// persists the result and carries out the returned actions.
struct PipelineRun: Sendable, Equatable, Codable {
    /// The pipeline's name.
    var pipelineName: String
    /// The run's number, from 1, per pipeline.
    var counter: Int
    /// The label rendered from the pipeline's label template.
    var label: String
    /// Why the run was created.
    var cause: TriggerCause
    /// The revision of every material, by material name, pinned for all the run's jobs.
    var materialRevisions: [String: String]
    /// Variables given when the run was triggered; they override the pipeline's (and its
    /// environment's) variables of the same name in every job, below stage and job variables.
    var triggerVariables: [EnvironmentVariable]
    /// When the run was created.
    var createdAt: Date
    /// When the run ended.
    var completedAt: Date?
    /// The current run of each stage, in config order: the one with the highest counter.
    var stages: [StageRun]
    /// Earlier runs of stages that were run again, by position then counter. Read-only history:
    /// a superseded stage run had ended, so no event changes it any more.
    var previousStages: [StageRun]

    /// Restores a run as stored.
    init(
        pipelineName: String, counter: Int, label: String, cause: TriggerCause,
        materialRevisions: [String: String], triggerVariables: [EnvironmentVariable] = [], createdAt: Date, completedAt: Date?,
        stages: [StageRun], previousStages: [StageRun] = []
    ) {
        self.pipelineName = pipelineName
        self.counter = counter
        self.label = label
        self.cause = cause
        self.materialRevisions = materialRevisions
        self.triggerVariables = triggerVariables
        self.createdAt = createdAt
        self.completedAt = completedAt
        self.stages = stages
        self.previousStages = previousStages
    }

    /// A new run of `definition`, not started yet: apply ``PipelineEvent/created`` next.
    ///
    /// - Parameter runOnAllCount: how many copies a `run_instances: all` job runs (the number of
    ///   agents that qualify for it); fixed now, as every job's plan is.
    /// - Throws: ``SchedulingError/Code/invalidDefinition`` for a pipeline without stages or a
    ///   stage without jobs.
    init(
        definition: PipelineDefinition, counter: Int, cause: TriggerCause,
        materialRevisions: [String: String], triggerVariables: [EnvironmentVariable] = [], createdAt: Date,
        label labelInputs: LabelInputs = LabelInputs(), runOnAllCount: (JobDefinition) -> Int = { _ in 1 }
    ) throws(SchedulingError) {
        guard !definition.stages.isEmpty else {
            throw SchedulingError(code: .invalidDefinition, message: "pipeline \(definition.name) has no stages")
        }
        if let empty = definition.stages.first(where: { $0.jobs.isEmpty }) {
            throw SchedulingError(
                code: .invalidDefinition, message: "stage \(empty.name) of pipeline \(definition.name) has no jobs")
        }
        self.init(
            pipelineName: definition.name, counter: counter,
            label: definition.label(counter: counter, revisions: materialRevisions.merging(labelInputs.revisions) { _, label in label },
                                    variables: labelInputs.variables), cause: cause,
            materialRevisions: materialRevisions, triggerVariables: triggerVariables, createdAt: createdAt, completedAt: nil,
            stages: definition.stages.map {
                StageRun(definition: $0, counter: 1, createdAt: createdAt, runOnAllCount: runOnAllCount)
            })
    }

    /// What a label template reads besides the counter and the git revisions: each dependency
    /// material's upstream label (by material name) and the non-secure variables for `${env:…}`.
    struct LabelInputs: Sendable, Equatable {
        var revisions: [String: String] = [:]
        var variables: [String: String] = [:]
    }

    /// The run's state, derived from its stages: building while a stage builds, paused while a
    /// stage awaits approval, otherwise the result of the stages that ended (cancelled over
    /// failed over passed).
    var state: PipelineState {
        let states = stages.map(\.state)
        if states.allSatisfy({ $0 == .pending }) { return .pending }
        if states.contains(.building) { return .building }
        if states.contains(.awaitingApproval) { return .awaitingApproval }
        if states.contains(.cancelled) { return .cancelled }
        if states.contains(.failed) { return .failed }
        if states.allSatisfy({ $0 == .passed }) { return .passed }
        // Passed stages followed by a pending one exist only inside a transition.
        return .building
    }

    /// How the run ended, `nil` while it has not.
    var result: PipelineResult? { state.result }

    /// Whether the run has ended.
    var isCompleted: Bool { state.isCompleted }

    /// The index in ``stages`` of the current stage run with this name and counter.
    func stageIndex(named name: String, counter: Int) -> Int? {
        stages.firstIndex { $0.name == name && $0.counter == counter }
    }

    /// The stage run with this name and counter, current or earlier.
    func stageRun(named name: String, counter: Int) -> StageRun? {
        stages.first { $0.name == name && $0.counter == counter }
            ?? previousStages.first { $0.name == name && $0.counter == counter }
    }

    /// Every run of the stage `name`, newest first.
    func stageRuns(named name: String) -> [StageRun] {
        (stages + previousStages).filter { $0.name == name }.sorted { $0.counter > $1.counter }
    }

    /// The job run at `key`, if it has been dispatched (in a current or an earlier stage run).
    func job(_ key: JobKey) -> JobRun? {
        guard let stage = stageRun(named: key.stage, counter: key.stageCounter),
            let jobIndex = stage.jobIndex(named: key.job, runIndex: key.runIndex)
        else { return nil }
        return stage.jobs[jobIndex]
    }

    /// The server-wide id of a job run of one of this run's stages.
    func jobRunID(of job: JobRun, in stage: StageRun) -> JobRunID {
        JobRunID(pipeline: pipelineName, pipelineCounter: counter, stage: stage.name, stageCounter: stage.counter,
                 job: job.name, runIndex: job.runIndex)
    }

    /// A job run of one of this run's stages at its current attempt.
    func attempt(of job: JobRun, in stage: StageRun) -> JobAttempt {
        JobAttempt(jobRunID: jobRunID(of: job, in: stage), attempt: job.attempt)
    }
}
