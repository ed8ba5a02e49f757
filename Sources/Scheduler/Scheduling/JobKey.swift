import Shared

/// A job run's place in its pipeline run: which stage run, which job, which of its
/// `run_instances` copies.
struct JobKey: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The stage's name.
    var stage: String
    /// The stage run's counter (1 until stages can be re-run).
    var stageCounter: Int
    /// The job's name as configured.
    var job: String
    /// Which copy, from 1 to the job's run count (GoCD's `GO_JOB_RUN_INDEX`).
    var runIndex: Int

    /// Creates a key; the stage counter defaults to the first run of the stage.
    init(stage: String, stageCounter: Int = 1, job: String, runIndex: Int = 1) {
        self.stage = stage
        self.stageCounter = stageCounter
        self.job = job
        self.runIndex = runIndex
    }

    /// `stage/stageCounter/job/runIndex`.
    var description: String { "\(stage)/\(stageCounter)/\(job)/\(runIndex)" }
}

extension JobRunID {
    /// The job run at `key` of pipeline run `pipeline`/`counter`.
    init(pipeline: String, counter: Int, key: JobKey) {
        self.init(pipeline: pipeline, pipelineCounter: counter, stage: key.stage, stageCounter: key.stageCounter, job: key.job,
                  runIndex: key.runIndex)
    }

    /// The job run's place within its pipeline run (what the pipeline run's state machine takes).
    var key: JobKey { JobKey(stage: stage, stageCounter: stageCounter, job: job, runIndex: runIndex) }
}
