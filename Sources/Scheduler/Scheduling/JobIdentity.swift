import Shared

/// Everything that names one attempt of one job run across the whole server: what a dispatch
/// publishes, what a worker's events refer back to.
struct JobIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The pipeline's name.
    var pipeline: String
    /// The pipeline run's counter.
    var pipelineCounter: Int
    /// The stage's name.
    var stage: String
    /// The stage run's counter.
    var stageCounter: Int
    /// The job's name as configured.
    var job: String
    /// Which copy, from 1 to ``runCount`` (GoCD's `GO_JOB_RUN_INDEX`).
    var runIndex: Int
    /// How many copies of the job run (GoCD's `GO_JOB_RUN_COUNT`).
    var runCount: Int
    /// Which delivery of the job this is, from 1; a redelivery to another worker increments it.
    var attempt: Int

    /// The job run within its pipeline run.
    var key: JobKey {
        JobKey(stage: stage, stageCounter: stageCounter, job: job, runIndex: runIndex)
    }

    /// GoCD's job locator, `pipeline/counter/stage/stageCounter/job`, with
    /// `-runInstance-<index>` for a job that runs several copies.
    var locator: String {
        let name = runCount > 1 ? "\(job)-runInstance-\(runIndex)" : job
        return "\(pipeline)/\(pipelineCounter)/\(stage)/\(stageCounter)/\(name)"
    }

    /// The locator and the attempt.
    var description: String { "\(locator)#\(attempt)" }

    /// The job run's id in messages: `pipeline/counter/stage/stageCounter/job/runIndex`.
    var runID: String {
        JobRunID(pipeline: pipeline, pipelineCounter: pipelineCounter, stage: stage, stageCounter: stageCounter, job: job,
                 runIndex: runIndex).description
    }
}
