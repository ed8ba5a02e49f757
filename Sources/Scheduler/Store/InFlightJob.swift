import Shared

/// A job run the scheduler still waits for (scheduled, assigned or building): what a restarted
/// scheduler re-derives its work from.
struct InFlightJob: Sendable, Equatable {
    /// The job run at its current attempt.
    var attempt: JobAttempt
    /// The job run as stored.
    var job: JobRun
}
