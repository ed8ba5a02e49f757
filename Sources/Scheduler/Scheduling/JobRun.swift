import Shared
import Foundation

/// One copy of one job in one stage run, across all its attempts (GoCD's job instance).
///
/// Attempts are the scheduler's: it dispatches attempt 1, and a new attempt only when it abandons
/// the current one (its agent was lost, the broker handed its message back). Its transitions
/// enforce the attempt rules: an event from an older (abandoned) attempt is stale and ignored;
/// an event from an attempt never dispatched is refused; once completed, the result is final.
struct JobRun: Sendable, Equatable, Codable {
    /// The job's name as configured.
    var name: String
    /// Which copy, from 1 to ``runCount``.
    var runIndex: Int
    /// How many copies of the job the stage runs.
    var runCount: Int
    /// Where the job is in its life.
    var state: JobState
    /// How it ended; `unknown` until completed.
    var result: JobResult
    /// The agent that accepted the current attempt.
    var agentID: String?
    /// The current delivery of the job, from 1.
    var attempt: Int
    /// When the current attempt was handed to the broker.
    var scheduledAt: Date
    /// When an agent accepted the current attempt.
    var assignedAt: Date?
    /// When the agent started the current attempt's tasks.
    var startedAt: Date?
    /// When the job completed.
    var completedAt: Date?
    /// For a job copied into a re-run of its stage without running again (GoCD's "run failed
    /// jobs" / "run selected jobs"): the counter of the stage run it really ran in, where its
    /// console and artifacts are. `nil` for a job that ran in this stage run.
    var originalStageCounter: Int? = nil
    /// The attempts given up before the current one, oldest first, each with why.
    var abandoned: [AbandonedAttempt] = []

    /// How many attempts a job gets: once this many have been abandoned, the job fails instead
    /// of being dispatched again (a job that kills its worker every time must end).
    static let maximumAttempts = 5

    /// Whether this is a copy of a run from an earlier run of its stage.
    var isCopy: Bool { originalStageCounter != nil }

    /// A freshly scheduled first attempt.
    static func scheduled(name: String, runIndex: Int, runCount: Int, at now: Date) -> JobRun {
        JobRun(
            name: name, runIndex: runIndex, runCount: runCount, state: .scheduled, result: .unknown,
            agentID: nil, attempt: 1, scheduledAt: now)
    }

    /// An agent accepted `attempt`. Returns whether anything changed.
    mutating func accept(attempt: Int, agent: String, key: JobKey, at now: Date) throws(SchedulingError) -> Bool {
        let before = self
        guard try admit(attempt: attempt, key: key) else { return false }
        switch state {
        case .scheduled:
            state = .assigned
            agentID = agent
            assignedAt = now
        case .assigned, .building, .completed:
            if let current = agentID, current != agent {
                throw SchedulingError(
                    code: .conflictingEvent,
                    message: "job \(key) attempt \(attempt) accepted by \(agent), already accepted by \(current)")
            }
            if agentID == nil {
                agentID = agent
                assignedAt = now
            }
        }
        return self != before
    }

    /// The agent started `attempt`'s tasks, as `agent` reports (nil: already checked). Returns
    /// whether anything changed; a report from another agent than the attempt's holder, or for
    /// an attempt no agent has taken, changes nothing.
    mutating func start(attempt: Int, agent: String? = nil, key: JobKey, at now: Date) throws(SchedulingError) -> Bool {
        if let agent, agent != agentID || attempt != self.attempt { return false }
        let before = self
        guard try admit(attempt: attempt, key: key) else { return false }
        if state == .scheduled || state == .assigned {
            state = .building
            startedAt = now
        }
        return self != before
    }

    /// `attempt` finished with `result`, as `agent` reports (nil: the scheduler). Returns whether
    /// anything changed; the same result reported again is a duplicate, another result for the
    /// same attempt is a conflict, and a result from another agent than the one that accepted
    /// the attempt (a duplicate delivery it was told to stop) is stale.
    mutating func finish(attempt: Int, result: JobResult, agent: String? = nil, key: JobKey, at now: Date) throws(SchedulingError) -> Bool {
        if let agent, let holder = agentID, agent != holder { return false }
        guard result != .unknown else {
            throw SchedulingError(
                code: .invalidResult, message: "job \(key) attempt \(attempt) finished without a result")
        }
        if state == .completed, attempt == self.attempt, self.result != .cancelled, self.result != result {
            throw SchedulingError(
                code: .conflictingEvent,
                message: "job \(key) attempt \(attempt) finished \(result.rawValue), "
                    + "already recorded \(self.result.rawValue)")
        }
        let before = self
        guard try admit(attempt: attempt, key: key) else { return false }
        state = .completed
        self.result = result
        completedAt = now
        return self != before
    }

    /// Gives up `attempt` for `reason` (recorded with its agent): the job is scheduled again as
    /// the next attempt, or, once ``maximumAttempts`` attempts have been given up, fails.
    /// Returns whether anything changed; a stale or repeated abandon changes nothing.
    mutating func abandon(attempt: Int, reason: String, key: JobKey, at now: Date) throws(SchedulingError) -> Bool {
        try Self.check(attempt: attempt, current: self.attempt, key: key)
        guard state != .completed, attempt == self.attempt else { return false }
        abandoned.append(AbandonedAttempt(attempt: attempt, agentID: agentID, reason: reason, at: now))
        if abandoned.count >= Self.maximumAttempts {
            state = .completed
            result = .failed
            completedAt = now
        } else {
            restart(attempt: attempt + 1, at: now)
        }
        return true
    }

    /// Ends the job as cancelled unless it has already completed. Returns whether it changed.
    mutating func cancel(at now: Date) -> Bool {
        guard state != .completed else { return false }
        state = .completed
        result = .cancelled
        completedAt = now
        return true
    }

    /// Whether an event of `attempt` applies: `false` for a stale attempt or a completed job.
    private func admit(attempt: Int, key: JobKey) throws(SchedulingError) -> Bool {
        try Self.check(attempt: attempt, current: self.attempt, key: key)
        return state != .completed && attempt == self.attempt
    }

    private mutating func restart(attempt: Int, at now: Date) {
        self.attempt = attempt
        state = .scheduled
        agentID = nil
        assignedAt = nil
        startedAt = nil
        scheduledAt = now
    }

    /// Refuses an attempt below 1, or above `current`: the scheduler never dispatched it.
    private static func check(attempt: Int, current: Int, key: JobKey) throws(SchedulingError) {
        guard attempt >= 1 else {
            throw SchedulingError(code: .invalidAttempt, message: "job \(key): attempt \(attempt) is below 1")
        }
        guard attempt <= current else {
            throw SchedulingError(code: .invalidAttempt,
                                  message: "job \(key): attempt \(attempt) was never dispatched (the current attempt is \(current))")
        }
    }
}

/// An attempt the scheduler gave up, and why (shown on the job's page and in the API).
struct AbandonedAttempt: Sendable, Equatable, Codable {
    var attempt: Int
    /// The agent that held it, if one had accepted it.
    var agentID: String?
    var reason: String
    var at: Date
}
