/// A job run with the console output of one of its attempts.
struct JobConsole: Sendable, Equatable {
    /// The job run, at the attempt whose output this is.
    var identity: JobIdentity
    /// The job run as stored.
    var job: JobRun
    /// The attempt's console chunks, concatenated in sequence order.
    var text: String
}
