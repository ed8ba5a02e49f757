import Shared

/// Where a stage run is, derived from its approval gate and its jobs (GoCD's
/// `StageState.findByBuilds`).
enum StageState: String, Sendable, Codable, CaseIterable {
    /// Not reached yet: an earlier stage has not finished, or never will.
    case pending
    /// Reached, but its manual approval has not been given.
    case awaitingApproval
    /// At least one of its jobs is not completed.
    case building
    /// Every job passed.
    case passed
    /// Every job completed and at least one failed (and none was cancelled).
    case failed
    /// Cancelled before it started, or at least one of its jobs was cancelled.
    case cancelled

    /// Whether the stage has ended, whatever the result.
    var isCompleted: Bool { result != nil }

    /// The stage's result once it has ended, `nil` before.
    var result: StageResult? {
        switch self {
        case .pending, .awaitingApproval, .building: nil
        case .passed: .passed
        case .failed: .failed
        case .cancelled: .cancelled
        }
    }

    /// A started stage's state from its jobs' states and results: building while any job is
    /// not completed; then cancelled if any job was cancelled, failed if any failed, else passed.
    static func derived(from jobs: [JobRun]) -> StageState {
        if jobs.contains(where: { $0.state != .completed }) { return .building }
        if jobs.contains(where: { $0.result == .cancelled }) { return .cancelled }
        if jobs.contains(where: { $0.result == .failed }) { return .failed }
        return .passed
    }
}
