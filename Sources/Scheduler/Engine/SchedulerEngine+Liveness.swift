import Foundation
import Logging
import Shared

/// The scheduler owns every job's liveness: an attempt that will not end on its own (its agent
/// was lost, the broker handed its message back, its message was dead-lettered) is abandoned
/// and the job is dispatched again as a new attempt, with the reason in both attempts' consoles
/// and in the API; after ``JobRun/maximumAttempts`` the job fails instead, so that every fault
/// ends with the work finished or with a reason why not.
extension SchedulerEngine {
    /// The console sequence of the scheduler's note at the head of a new attempt's console,
    /// before any worker's chunk (numbered from 0).
    static let schedulerHeadConsoleSequence = -1

    /// Gives up `attempt` for `reason` and dispatches the job again (or fails it after its last
    /// attempt). Returns false if the attempt was already stale (the job has moved on).
    @discardableResult
    func abandon(_ attempt: JobAttempt, reason: String) async throws(StoreError) -> Bool {
        let id = attempt.jobRunID
        let now = Date()
        let actions = try await store.apply(.jobAbandoned(job: id.key, attempt: attempt.attempt, reason: reason),
                                            pipeline: id.pipeline, counter: id.pipelineCounter, at: now)
        guard let run = try await store.pipelineRun(id.pipeline, counter: id.pipelineCounter),
              await recordAbandon(of: attempt, in: run, at: now) != nil else { return false }
        await perform(actions, run: run)
        return true
    }

    /// After `attempt` was abandoned in `run` at `now` (committed): notes in the consoles of the
    /// abandoned attempt and of the next one, tells the agent that held it to stop it (in case
    /// it is still running it), and logs. Returns the abandoned record, or nil if `attempt` was
    /// not abandoned (a stale or repeated request).
    func recordAbandon(of attempt: JobAttempt, in run: PipelineRun, at now: Date) async -> AbandonedAttempt? {
        let id = attempt.jobRunID
        guard let job = run.job(id.key), let given = job.abandoned.last, given.attempt == attempt.attempt,
              abs(given.at.timeIntervalSince(now)) < 0.001 else { return nil }
        let holder = given.agentID.map { " on agent \($0.prefix(8))" } ?? ""
        let next = job.state == .completed
            ? "The job has had \(JobRun.maximumAttempts) attempts; it fails."
            : "The job runs again as attempt \(job.attempt)."
        var notes = [SchedulerStore.ConsoleChunkRecord(
            text: "[relevo] Attempt \(attempt.attempt)\(holder) was abandoned: \(given.reason). \(next)\n",
            sequence: Self.schedulerConsoleSequence, attempt: attempt.attempt, job: id.key, pipeline: id.pipeline,
            counter: id.pipelineCounter)]
        if job.state != .completed {
            notes.append(SchedulerStore.ConsoleChunkRecord(
                text: "[relevo] Attempt \(job.attempt) of this job: attempt \(attempt.attempt)\(holder) was abandoned (\(given.reason)).\n",
                sequence: Self.schedulerHeadConsoleSequence, attempt: job.attempt, job: id.key, pipeline: id.pipeline,
                counter: id.pipelineCounter))
        }
        do {
            _ = try await store.appendConsole(notes)
        } catch {
            logger.warning("abandon note not written to the console", metadata: ["job": "\(attempt)", "error": "\(error)"])
        }
        consoleSignal.notify([id])
        if let agent = given.agentID {
            await sendCancel(id, user: "scheduler", attempt: attempt.attempt, agent: agent)
        }
        logger.warning(job.state == .completed ? "attempt abandoned; the job fails (no attempts left)" : "attempt abandoned; dispatching the job again",
                       metadata: ["job": "\(attempt)", "agent": "\(given.agentID ?? "none")", "reason": "\(given.reason)"])
        return given
    }

    /// Abandons every attempt held by an agent that has lost contact (read from the database,
    /// so jobs from before a restart are covered). Returns how many.
    @discardableResult
    func abandonJobsOfLostAgents() async -> Int {
        let held: [(job: InFlightJob, agent: Agent)]
        do {
            held = try await store.jobsHeldByLostAgents()
        } catch {
            logger.warning("cannot list jobs of lost agents", metadata: ["error": "\(error)"])
            return 0
        }
        var count = 0
        for (job, agent) in held {
            let silence = agent.lastHeartbeatAt.map { " (no heartbeat for \(Int(Date().timeIntervalSince($0))) s)" } ?? ""
            do {
                if try await abandon(job.attempt, reason: "its agent \(agent.name) lost contact\(silence)") { count += 1 }
            } catch {
                logger.warning("cannot abandon a job of a lost agent", metadata: ["job": "\(job.attempt)", "error": "\(error)"])
            }
        }
        return count
    }

    /// How long a dispatched job may wait untaken before the scheduler asks the broker whether
    /// its message is still in its queue.
    static let undeliveredAfter: TimeInterval = 120

    /// Abandons attempts dispatched longer than `olderThan` ago, never taken, whose queue holds
    /// no ready message: the message is gone (purged by an operator, lost with a broker's
    /// disk). A job waiting behind others, or for a worker that can take it, is still in its
    /// queue and is left alone. Returns how many it abandoned.
    @discardableResult
    func abandonUndeliveredJobs(olderThan: TimeInterval = undeliveredAfter) async -> Int {
        let waiting: [InFlightJob]
        do {
            waiting = try await store.jobsDispatched(before: Date().addingTimeInterval(-olderThan))
        } catch {
            logger.warning("cannot list dispatched jobs", metadata: ["error": "\(error)"])
            return 0
        }
        var byQueue: [String: [JobAttempt]] = [:]
        for job in waiting {
            let id = job.attempt.jobRunID
            guard let run = try? await store.pipelineRun(id.pipeline, counter: id.pipelineCounter),
                  let queue = dispatcher.queue(of: id, run: run, config: config) else { continue }
            byQueue[queue, default: []].append(job.attempt)
        }
        var count = 0
        for (queue, attempts) in byQueue.sorted(by: { $0.key < $1.key }) {
            guard let status = try? await publisher.queueStatus(queue), status.messages == 0 else { continue }
            for attempt in attempts {
                let reason = "dispatched over \(Int(olderThan)) s ago and never taken, and its queue \(queue) holds no message "
                    + "(purged, or lost by the broker)"
                do {
                    if try await abandon(attempt, reason: reason) { count += 1 }
                } catch {
                    logger.warning("cannot abandon an undelivered job", metadata: ["job": "\(attempt)", "error": "\(error)"])
                }
            }
        }
        return count
    }

    /// Something kept worker events from being applied (the store failed, the events consumer
    /// restarted, the scheduler just started): agents are not judged silent until heartbeats
    /// have had a full `agent_lost_seconds` to arrive again.
    func noteEventIntakeTrouble() {
        eventIntakeClearSince = Date()
    }

    /// Marks agents silent for `lostAfter` as lost, unless the scheduler itself may have missed
    /// their heartbeats in that time; then abandons the jobs lost agents hold.
    func checkAgents(lostAfter: TimeInterval) async {
        let now = Date()
        if now.timeIntervalSince(eventIntakeClearSince) >= lostAfter {
            await agents.markSilent(since: now.addingTimeInterval(-lostAfter))
        }
        await abandonJobsOfLostAgents()
    }
}
