/// How a job run ended (GoCD's `JobResult`); `unknown` until it is completed. A worker reports
/// one of the three others; a `finished` event that says `unknown` is refused.
public enum JobResult: String, Sendable, Codable, CaseIterable {
    /// Not completed yet.
    case unknown
    /// Every task that had to run passed.
    case passed
    /// A task failed; this is an outcome of the user's build, not an error of ours.
    case failed
    /// Stopped before it finished: by a person, by the pipeline's cancellation or by a timeout.
    case cancelled

    /// Whether this is how a job can end (anything but `unknown`).
    public var isFinal: Bool { self != .unknown }
}
