/// How a pipeline run ended.
enum PipelineResult: String, Sendable, Codable, CaseIterable {
    /// Every stage passed.
    case passed
    /// A stage failed.
    case failed
    /// The run, or one of its stages, was cancelled.
    case cancelled
}
