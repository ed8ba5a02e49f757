import Foundation
import Shared

/// The one record of the work this agent is doing: the deliveries being handled (each a task,
/// known before its message is even decoded) and, for each job run taken, its task sequence once
/// it runs, so that a cancel from the scheduler reaches the right one. A cancel that arrives while
/// the job is still being prepared (git checkout) is kept and applied as soon as its tasks are
/// about to run.
actor RunningJobs {
    private struct Job {
        var attempt: Int
        /// Stopped here without a result: the broker hands the job to another worker.
        var abandoned = false
        var execution: TaskSequenceRunner?
        var cancelRequested = false
    }

    private var handlers: [UUID: Task<Void, Never>] = [:]
    private var jobs: [JobRunID: Job] = [:]

    /// The job runs taken and not finished, in a stable order (for heartbeats).
    var jobRunIDs: [JobRunID] { jobs.keys.sorted { $0.description < $1.description } }

    /// Whether nothing is being handled.
    var isIdle: Bool { handlers.isEmpty && jobs.isEmpty }

    /// Tracks the task handling one delivery until ``untrack(_:)``.
    func track(_ task: Task<Void, Never>, id: UUID) {
        handlers[id] = task
    }

    func untrack(_ id: UUID) {
        handlers[id] = nil
    }

    /// Returns once every delivery tracked now (and any tracked meanwhile) has been handled.
    func waitUntilIdle() async {
        while let (id, task) = handlers.first {
            await task.value
            handlers[id] = nil
        }
    }

    /// An attempt at a job run was taken: it is being prepared. Returns false, and takes nothing,
    /// if this worker runs that attempt already or ran it lately: the broker handed the same
    /// message out again without marking it redelivered (a quorum queue whose leader died before
    /// it recorded the first delivery), and running it twice is what must never happen.
    func begin(_ attempt: JobAttempt) -> Bool {
        if jobs[attempt.jobRunID]?.attempt == attempt.attempt || recentlyEnded.contains(attempt) { return false }
        jobs[attempt.jobRunID] = Job(attempt: attempt.attempt)
        return true
    }

    /// The attempts that ended here lately, oldest first (a few hundred are plenty: a duplicate
    /// comes within seconds of the first delivery).
    private var recentlyEnded: [JobAttempt] = []

    /// The job run's tasks are about to run as `execution`; returns false if the job was
    /// cancelled meanwhile (the caller then cancels it at once).
    func attach(_ execution: TaskSequenceRunner, to id: JobRunID) -> Bool {
        jobs[id, default: Job(attempt: 0)].execution = execution
        return jobs[id]?.cancelRequested != true
    }

    /// The job run ended here (reported or not).
    func end(_ id: JobRunID) {
        if let job = jobs[id] {
            recentlyEnded.append(JobAttempt(jobRunID: id, attempt: job.attempt))
            if recentlyEnded.count > 512 { recentlyEnded.removeFirst(recentlyEnded.count - 512) }
        }
        jobs[id] = nil
    }

    /// Stops job run `id` here without a result (its delivery was lost, so it runs elsewhere).
    func abandon(_ id: JobRunID) async {
        guard jobs[id] != nil else { return }
        jobs[id]?.abandoned = true
        _ = await cancel(id)
    }

    /// Whether this worker is running `attempt` now (taken, not ended, not stopped without a
    /// result): a redelivery of it is this worker's own message coming back after its broker
    /// connection was cut, and the run here goes on and reports.
    func isRunning(_ attempt: JobAttempt) -> Bool {
        guard let job = jobs[attempt.jobRunID] else { return false }
        return job.attempt == attempt.attempt && !job.abandoned
    }

    /// Whether job run `id` was stopped here without a result.
    func isAbandoned(_ id: JobRunID) -> Bool { jobs[id]?.abandoned == true }

    /// Cancels job run `id` if it is here (at `attempt`, if given): its tasks stop now, or, while
    /// it is being prepared, as soon as they would start. Returns whether the job is here.
    func cancel(_ id: JobRunID, attempt: Int? = nil) async -> Bool {
        guard let job = jobs[id], attempt == nil || attempt == job.attempt else { return false }
        if let execution = job.execution {
            await execution.cancel()
        } else {
            jobs[id]?.cancelRequested = true
        }
        return true
    }
}
