/// Why a task failed on Relevo's side rather than the program's: it could not be started, its
/// working directory was refused, or its artifact could not be fetched. Such a failure fails the
/// task and the job, and is shown on the console; it is never thrown out of a job.
struct TaskError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is.
    enum Code: String, Sendable, Equatable {
        /// The program could not be started (not found, not executable, no working directory).
        case cannotRun
        /// The task's `working_directory` is absolute or leaves the job's directory.
        case workingDirectoryOutsideJob
        /// The fetch handler failed.
        case fetchFailed
    }

    /// What kind of failure this is.
    let code: Code
    /// The operation that failed, e.g. `run mvn`.
    let operation: String
    /// A human-readable reason, shown on the console after `[relevo] `.
    let message: String
    /// Whether running the job again may help (e.g. a fetch that hit a network error).
    let isRetriable: Bool

    /// Creates an error.
    init(_ code: Code, operation: String, message: String, isRetriable: Bool = false) {
        self.code = code
        self.operation = operation
        self.message = message
        self.isRetriable = isRetriable
    }

    /// `operation: message`.
    var description: String { "\(operation): \(message)" }
}
