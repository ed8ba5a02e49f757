import Shared

/// A job run with the console output of one of its attempts.
struct JobConsoleText: Sendable, Equatable {
    /// The job run, at the attempt whose output this is.
    var attempt: JobAttempt
    /// The job run as stored.
    var job: JobRun
    /// The attempt's console chunks, concatenated in sequence order.
    var text: String
}
