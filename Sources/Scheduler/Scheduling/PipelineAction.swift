import Shared

/// What the caller of the state machine must do once the transition is committed.
enum PipelineAction: Sendable, Equatable, Codable {
    /// Publish this attempt of the job run to its queue.
    case dispatch(JobAttempt)
    /// Tell the worker running this job to stop it; its run is already recorded as cancelled.
    case cancelJob(JobRunID)
    /// The stage ended (downstream pipelines listen for a passed stage).
    case stageCompleted(stage: String, result: StageResult)
    /// The run ended.
    case pipelineCompleted(result: PipelineResult)
    /// The stage waits for a manual approval; the run is paused, not completed.
    case awaitingApproval(stage: String)
}
