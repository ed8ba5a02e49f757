/// One attempt at a job run: attempts count from 1 and grow each time the job is handed out
/// again. Every job event names one, so that events of a stale attempt are recognised.
public struct JobAttempt: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The job run.
    public var jobRunID: JobRunID
    /// Which attempt, from 1.
    public var attempt: Int

    public init(jobRunID: JobRunID, attempt: Int) {
        self.jobRunID = jobRunID
        self.attempt = attempt
    }

    /// `pipeline/counter/stage/stageCounter/job/runIndex#attempt`.
    public var description: String { "\(jobRunID)#\(attempt)" }
}
