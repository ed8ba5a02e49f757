import Foundation
import Logging
import Shared

extension SchedulerEngine {
    /// The console sequence of the scheduler's own note in a job's console, far above any
    /// worker's chunk numbers.
    static let schedulerConsoleSequence = 1_000_000_000

    /// Acts on a message read from `relevo.dead` so that it is never silent: a job message's
    /// attempt, if it is still the job's current one, is abandoned with the reason (in its
    /// console, the API and the log) and the job is dispatched again as a new attempt, built
    /// afresh from the config (so a message no worker could read is not sent as it was), or
    /// fails once it has had its last attempt; anything else is logged. Returns what was done,
    /// in words, for the record.
    func handle(_ letter: DeadLetter) async throws(StoreError) -> String {
        logger.error("message dead-lettered", metadata: ["kind": "\(letter.kind.rawValue)", "queue": "\(letter.originalQueue)",
                                                         "reason": "\(letter.reason)", "message": "\(letter.messageID ?? "")"])
        guard letter.kind == .job else { return "recorded" }
        guard let id = letter.jobRunID else { return "recorded: the message names no job run" }
        guard let run = try await store.pipelineRun(id.pipeline, counter: id.pipelineCounter), let job = run.job(id.key) else {
            return "recorded: no job run \(id)"
        }
        guard job.state != .completed else { return "recorded: job \(id) had already completed (\(job.result.rawValue))" }
        let attempt = letter.attempt ?? job.attempt
        guard attempt == job.attempt else { return "recorded: attempt \(attempt) of \(id) had been abandoned (the job is at attempt \(job.attempt))" }
        let abandoned = try await abandon(JobAttempt(jobRunID: id, attempt: attempt),
                                          reason: "its message was dead-lettered from \(letter.originalQueue): \(letter.reason)")
        guard abandoned else { return "recorded: attempt \(attempt) of \(id) had moved on" }
        return job.abandoned.count + 1 >= JobRun.maximumAttempts
            ? "job \(id) failed: attempt \(attempt) was its last"
            : "job \(id) dispatched again as attempt \(attempt + 1)"
    }
}
