/// A pipeline run as loaded from the database, with the row ids that a transition needs to
/// update it in place.
struct StoredPipelineRun: Sendable {
    /// `pipeline_instances.id`.
    var id: Int64
    /// The run as stored.
    var run: PipelineRun
    /// `stage_instances.id` of each of ``run``'s current stage runs, in the same order.
    var stageIDs: [Int64]
    /// `job_instances.id` of each dispatched job run.
    var jobIDs: [JobKey: Int64]
}
