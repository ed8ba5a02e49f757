/// What the scheduler knows of an agent's runtime status (GoCD's agent runtime status).
enum AgentState: String, Sendable, Codable, CaseIterable {
    /// Connected and free to take jobs.
    case idle
    /// Running a job.
    case building
    /// No heartbeat for longer than the server's limit.
    case lostContact
    /// Switched off by an administrator; takes no jobs.
    case disabled
    /// Registered without the registration key: waits for an administrator to approve it, and
    /// has no credential (its events are refused) until then.
    case pending
}
