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
}
