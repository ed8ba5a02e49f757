import Shared

/// How a job ended on this worker: a value, whatever happened to its tasks.
struct JobOutcome: Sendable, Equatable {
    /// Why a job was cancelled.
    enum CancelReason: Sendable, Equatable {
        /// Someone (or the worker shutting down) asked for it.
        case requested
        /// Nothing was printed for this long.
        case inactivity(Duration)
    }

    /// The job's result: passed, failed or cancelled.
    var result: JobResult
    /// Why the job was cancelled, when ``result`` is `cancelled`.
    var cancelReason: CancelReason?
    /// One record per declared task, plus one after a cancelled task for its `on_cancel`.
    var tasks: [TaskRecord]

    /// Creates an outcome.
    init(result: JobResult, cancelReason: CancelReason? = nil, tasks: [TaskRecord]) {
        self.result = result
        self.cancelReason = cancelReason
        self.tasks = tasks
    }
}
