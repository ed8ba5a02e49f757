/// "Stop this job run": the scheduler sends it to every worker on the `relevo.catalog` fanout
/// exchange (AMQP `type` ``messageType``); the worker running the job cancels it (its task's
/// process group is stopped and its `on_cancel` runs). A worker not running it ignores it.
public struct JobCancel: Sendable, Equatable, Codable {
    /// The AMQP `type` property that tells a cancel from a catalogue on the same queue.
    public static let messageType = "relevo.cancel"

    /// The job run to stop.
    public var jobRunID: JobRunID
    /// Who asked (a person, or `scheduler`).
    public var user: String
    /// Only this attempt (an abandoned one); nil: whichever attempt runs.
    public var attempt: Int?
    /// Only on the agent with this uuid; nil: on any agent.
    public var agent: String?

    public init(jobRunID: JobRunID, user: String, attempt: Int? = nil, agent: String? = nil) {
        self.jobRunID = jobRunID
        self.user = user
        self.attempt = attempt
        self.agent = agent
    }
}

extension MessageCodec {
    public static func decodeCancel(_ body: [UInt8]) throws(DecodingFailure) -> JobCancel {
        try decodeValue(body)
    }
}
