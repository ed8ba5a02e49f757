/// How a job ended on this worker: a value, whatever happened to its tasks.
public struct JobOutcome: Sendable, Equatable {
    /// The job's result (GoCD's passed / failed / cancelled).
    public enum Result: String, Sendable, Equatable {
        /// Every task that ran passed.
        case passed
        /// A task failed.
        case failed
        /// The job was cancelled or timed out.
        case cancelled
    }

    /// Why a job was cancelled.
    public enum CancelReason: Sendable, Equatable {
        /// Someone (or the worker shutting down) asked for it.
        case requested
        /// Nothing was printed for this long.
        case inactivity(Duration)
    }

    /// The job's result.
    public var result: Result
    /// Why the job was cancelled, when ``result`` is `cancelled`.
    public var cancelReason: CancelReason?
    /// One record per declared task, plus one after a cancelled task for its `on_cancel`.
    public var tasks: [TaskRecord]

    /// Creates an outcome.
    public init(result: Result, cancelReason: CancelReason? = nil, tasks: [TaskRecord]) {
        self.result = result
        self.cancelReason = cancelReason
        self.tasks = tasks
    }
}
