/// When a task runs, given how the job's earlier tasks went (GoCD's `run_if`).
public enum RunIf: String, Sendable, Codable, CaseIterable {
    /// Only while every earlier task passed (GoCD's default).
    case passed
    /// Only once an earlier task has failed.
    case failed
    /// Whatever happened before.
    case any
}
