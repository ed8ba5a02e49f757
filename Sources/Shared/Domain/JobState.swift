/// Where a job run is in its life (GoCD's `JobState`); how it ended is a separate ``JobResult``.
public enum JobState: String, Sendable, Codable, CaseIterable {
    /// Published to the broker, not yet taken by an agent.
    case scheduled
    /// Accepted by an agent, whose tasks have not started.
    case assigned
    /// The agent is running its tasks.
    case building
    /// Finished; ``JobResult`` tells how.
    case completed
}
