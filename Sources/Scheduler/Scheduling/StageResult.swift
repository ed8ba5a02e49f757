/// How a stage run ended.
enum StageResult: String, Sendable, Codable, CaseIterable {
    /// Every job passed.
    case passed
    /// A job failed.
    case failed
    /// A job, or the whole pipeline, was cancelled.
    case cancelled
}
