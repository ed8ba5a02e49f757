import Foundation
import Logging
import Shared

extension SchedulerEngine {
    /// The console sequence of the scheduler's own note in a job's console, far above any
    /// worker's chunk numbers.
    static let schedulerConsoleSequence = 1_000_000_000

    /// Acts on a message read from `relevo.dead` so that it is never silent: a job message's job
    /// run, if it has not completed, fails with the reason in its console (nothing will run it
    /// any more); anything else is logged. Returns what was done, in words, for the record.
    func handle(_ letter: DeadLetter) async throws(StoreError) -> String {
        logger.error("message dead-lettered", metadata: ["kind": "\(letter.kind.rawValue)", "queue": "\(letter.originalQueue)",
                                                         "reason": "\(letter.reason)", "message": "\(letter.messageID ?? "")"])
        guard letter.kind == .job else { return "recorded" }
        guard let id = letter.jobRunID else { return "recorded: the message names no job run" }
        guard let run = try await store.pipelineRun(id.pipeline, counter: id.pipelineCounter), let job = run.job(id.key) else {
            return "recorded: no job run \(id)"
        }
        guard job.state != .completed else { return "recorded: job \(id) had already completed (\(job.result.rawValue))" }
        let note = "[relevo] The job's message was dead-lettered from \(letter.originalQueue): \(letter.reason). "
            + "No worker will run it; the job fails. Run the stage again once the cause is fixed.\n"
        _ = try await store.appendConsole([SchedulerStore.ConsoleChunkRecord(
            text: note, sequence: Self.schedulerConsoleSequence, attempt: job.attempt, job: id.key, pipeline: id.pipeline,
            counter: id.pipelineCounter)])
        let actions: [PipelineAction]
        do {
            actions = try await store.apply(.jobFinished(job: id.key, attempt: job.attempt, result: .failed), pipeline: id.pipeline,
                                            counter: id.pipelineCounter, at: Date())
        } catch where error.code == .illegalTransition {
            return "recorded: job \(id) not failed (\(error.message))"
        }
        consoleSignal.notify([id])
        logger.error("job failed: its message was dead-lettered", metadata: ["job": "\(id)", "attempt": "\(job.attempt)", "reason": "\(letter.reason)"])
        if let updated = try await store.pipelineRun(id.pipeline, counter: id.pipelineCounter) { await perform(actions, run: updated) }
        return "job \(id) failed (attempt \(job.attempt))"
    }
}
