/// Where a pipeline run is, derived from its stages.
enum PipelineState: String, Sendable, Codable, CaseIterable {
    /// Built but not started yet (before its `created` event).
    case pending
    /// A stage is running.
    case building
    /// Paused: its next stage waits for a manual approval. Not completed.
    case awaitingApproval
    /// Every stage passed.
    case passed
    /// A stage failed and nothing more will run.
    case failed
    /// Cancelled, or a stage ended cancelled.
    case cancelled

    /// The pipeline's result once it has ended, `nil` before.
    var result: PipelineResult? {
        switch self {
        case .pending, .building, .awaitingApproval: nil
        case .passed: .passed
        case .failed: .failed
        case .cancelled: .cancelled
        }
    }

    /// Whether the pipeline has ended, whatever the result.
    var isCompleted: Bool { result != nil }
}
