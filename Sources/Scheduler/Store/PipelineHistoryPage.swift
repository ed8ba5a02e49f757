/// One page of a pipeline's runs, newest first.
struct PipelineHistoryPage: Sendable, Equatable {
    /// The runs on this page, highest counter first.
    var runs: [PipelineRun]
    /// How many runs the pipeline has in all.
    var total: Int
    /// How many runs were skipped before this page.
    var offset: Int
    /// The most runs a page holds.
    var limit: Int

    /// Whether older runs follow this page.
    var hasMore: Bool { offset + runs.count < total }
}
