import Shared
import Foundation

/// One copy of one job in one stage run, across all its attempts (GoCD's job instance).
///
/// Its transitions enforce the attempt rules: an event from an older attempt is stale and
/// ignored; an event from a newer attempt means the broker redelivered the job, so the run
/// starts over at that attempt first; once completed, the result is final.
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
        guard try admit(attempt: attempt, key: key, at: now) else { return false }
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

    /// The agent started `attempt`'s tasks. Returns whether anything changed.
    mutating func start(attempt: Int, key: JobKey, at now: Date) throws(SchedulingError) -> Bool {
        let before = self
        guard try admit(attempt: attempt, key: key, at: now) else { return false }
        if state == .scheduled || state == .assigned {
            state = .building
            startedAt = now
        }
        return self != before
    }

    /// `attempt` finished with `result`. Returns whether anything changed; the same result
    /// reported again is a duplicate, another result for the same attempt is a conflict.
    mutating func finish(attempt: Int, result: JobResult, key: JobKey, at now: Date) throws(SchedulingError) -> Bool {
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
        guard try admit(attempt: attempt, key: key, at: now) else { return false }
        state = .completed
        self.result = result
        completedAt = now
        return self != before
    }

    /// The broker handed the job to another worker as `attempt`. Returns whether anything changed.
    mutating func redeliver(attempt: Int, key: JobKey, at now: Date) throws(SchedulingError) -> Bool {
        try Self.check(attempt: attempt, key: key)
        guard state != .completed, attempt > self.attempt else { return false }
        restart(attempt: attempt, at: now)
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

    /// Whether an event of `attempt` applies: `false` for a stale attempt or a completed job;
    /// a newer attempt first restarts the job at that attempt.
    private mutating func admit(attempt: Int, key: JobKey, at now: Date) throws(SchedulingError) -> Bool {
        try Self.check(attempt: attempt, key: key)
        guard state != .completed, attempt >= self.attempt else { return false }
        if attempt > self.attempt { restart(attempt: attempt, at: now) }
        return true
    }

    private mutating func restart(attempt: Int, at now: Date) {
        self.attempt = attempt
        state = .scheduled
        agentID = nil
        assignedAt = nil
        startedAt = nil
        scheduledAt = now
    }

    private static func check(attempt: Int, key: JobKey) throws(SchedulingError) {
        guard attempt >= 1 else {
            throw SchedulingError(code: .invalidAttempt, message: "job \(key): attempt \(attempt) is below 1")
        }
    }
}
