import Shared

/// What happened to one task of a job, in the order the tasks were declared.
struct TaskRecord: Sendable, Equatable {
    /// How a task ended.
    enum Outcome: String, Sendable, Equatable {
        /// It ran and succeeded.
        case passed
        /// It ran and failed, or could not be run.
        case failed
        /// It was running when the job was cancelled or timed out.
        case cancelled
        /// Its `run_if` did not match, or the job stopped before it.
        case skipped
    }

    /// The task's position in the job, from 0.
    var index: Int
    /// The program run, or `fetch` for a fetch task.
    var command: String
    /// The program's arguments, or what a fetch task fetches.
    var arguments: [String]
    /// Whether this is the `on_cancel` command of the task at ``index``.
    var isOnCancel: Bool
    /// How it ended.
    var outcome: Outcome
    /// How its process ended, when one ran.
    var exitStatus: ProcessExitStatus?
    /// Relevo's own reason when the task failed without its program running to an end.
    var failure: TaskError?
    /// How long it took; zero when skipped.
    var duration: Duration

    /// Creates a record.
    init(
        index: Int, command: String, arguments: [String], isOnCancel: Bool = false, outcome: Outcome,
        exitStatus: ProcessExitStatus? = nil, failure: TaskError? = nil, duration: Duration = .zero
    ) {
        self.index = index
        self.command = command
        self.arguments = arguments
        self.isOnCancel = isOnCancel
        self.outcome = outcome
        self.exitStatus = exitStatus
        self.failure = failure
        self.duration = duration
    }
}
