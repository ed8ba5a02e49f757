import Shared

/// Reads pipeline runs by name and counter: what dispatch needs of the store to resolve a
/// `fetch` through dependency pins and to label dependency materials. ``SchedulerStore`` is the
/// real one; unit tests use a dictionary.
protocol PipelineRunLookup: Sendable {
    /// The run `pipeline`/`counter`, or nil if there is none.
    func pipelineRun(_ pipeline: String, counter: Int) async throws(StoreError) -> PipelineRun?
}

extension SchedulerStore: PipelineRunLookup {}
