import Foundation
import Logging
import Shared

extension SchedulerEngine {
    /// What became of one worker event.
    enum EventOutcome: Sendable {
        /// Applied, or stale or a duplicate (which change nothing): ack it.
        case done
        /// Not applied for a reason that may pass (store busy, disk trouble): give it back.
        case retry(StoreError)
        /// Refused by the state machine or naming nothing known: dead-letter it with the reason.
        case refused(StoreError)
    }

    /// Applies a burst of worker events with as few transactions as possible: the events of one
    /// pipeline run in one transaction (loaded and saved once), all console chunks in one, then
    /// performs the resulting actions with the committed run (no reload). Returns one outcome per
    /// event, in order.
    func handle(_ events: [WorkerEvent]) async -> [EventOutcome] {
        var outcomes = [EventOutcome](repeating: .done, count: events.count)
        var groups: [String: (pipeline: String, counter: Int, indices: [Int], events: [PipelineEvent])] = [:]
        var groupOrder: [String] = []
        var chunks: [(index: Int, chunk: SchedulerStore.ConsoleChunkRecord)] = []
        var abandoned: [JobAttempt] = []
        defer {
            // Heartbeats may have waited too: agents are not judged silent meanwhile.
            if outcomes.contains(where: { if case .retry = $0 { true } else { false } }) { noteEventIntakeTrouble() }
        }
        for (index, event) in events.enumerated() {
            switch event {
            case .accepted(let attempt, let agent):
                let runID = attempt.jobRunID
                add(.jobAccepted(job: runID.key, attempt: attempt.attempt, agent: agent.uuid), runID, index, &groups, &groupOrder)
            case .started(let attempt, let agent):
                let runID = attempt.jobRunID
                add(.jobAccepted(job: runID.key, attempt: attempt.attempt, agent: agent.uuid), runID, index, &groups, &groupOrder)
                add(.jobStarted(job: runID.key, attempt: attempt.attempt), runID, index, &groups, &groupOrder)
            case .taskStarted(let attempt, let task, let agent):
                guard task == 0 else { continue }
                add(.jobStarted(job: attempt.jobRunID.key, attempt: attempt.attempt, agent: agent), attempt.jobRunID, index, &groups, &groupOrder)
            case .redelivered(let attempt, let agent):
                // The attempt's message came back from the broker: whoever held it is gone (or
                // gave it back); the worker that got it again did not run it (and acked it).
                // Unless its holder is alive and still running it: its connection to the broker
                // was cut (a node of the cluster died) but not the job, whose result will come.
                // Its next heartbeat says which (``settleRedeliveries()``); a crashed agent sends none.
                // Its acceptance may be in this very burst, not applied yet.
                let acceptedBy = events[..<index].last { earlier in
                    switch earlier {
                    case .accepted(attempt, _), .started(attempt, _): true
                    default: false
                    }
                }.flatMap { earlier -> String? in
                    switch earlier {
                    case .accepted(_, let holder), .started(_, let holder): holder.uuid
                    default: nil
                    }
                }
                if case .wait(let holder) = await redeliveryVerdict(attempt, acceptedBy: acceptedBy) {
                    pendingRedeliveries[attempt] = (holder, Date(), agent.name)
                    continue
                }
                let runID = attempt.jobRunID
                abandoned.append(attempt)
                add(.jobAbandoned(job: runID.key, attempt: attempt.attempt,
                                  reason: "its message came back from the broker (the worker holding it disconnected or gave it back) and went to \(agent.name)"),
                    runID, index, &groups, &groupOrder)
            case .finished(let attempt, let result, let tail, let agent):
                let runID = attempt.jobRunID
                if let tail {
                    chunks.append((index, SchedulerStore.ConsoleChunkRecord(text: tail.text, sequence: tail.sequence, attempt: attempt.attempt,
                                                                            job: runID.key, pipeline: runID.pipeline,
                                                                            counter: runID.pipelineCounter, agent: agent)))
                }
                // The state machine refuses `unknown` (not a way to end): the event is dead-lettered.
                add(.jobFinished(job: runID.key, attempt: attempt.attempt, result: result, agent: agent), runID, index, &groups, &groupOrder)
            case .console(let attempt, let sequence, let text, let agent):
                let runID = attempt.jobRunID
                chunks.append((index, SchedulerStore.ConsoleChunkRecord(text: text, sequence: sequence, attempt: attempt.attempt,
                                                                        job: runID.key, pipeline: runID.pipeline,
                                                                        counter: runID.pipelineCounter, agent: agent)))
            case .heartbeat(let agent, let busyJobs, let version):
                busyReports[agent.uuid] = (Set(busyJobs), Date())
                // A heartbeat of the holder (or of any agent, when the holder's acceptance has
                // not arrived yet) that names the job settles it: it goes on there.
                for (attempt, pending) in pendingRedeliveries where pending.holder == agent.uuid || pending.holder == nil {
                    if busyJobs.contains(attempt.jobRunID) {
                        pendingRedeliveries[attempt] = nil
                        logger.info("a job's message came back from the broker while its agent still runs it; it goes on there",
                                    metadata: ["job": "\(attempt)", "agent": "\(agent.name)", "reported by": "\(pending.reporter)"])
                    } else if pending.holder != nil {
                        // The agent no longer runs it. Had it finished, its result came first (a
                        // worker names a job until its result is confirmed, on the same channel):
                        // the next pass abandons it without waiting out the grace.
                        pendingRedeliveries[attempt] = (pending.holder, .distantPast, pending.reporter)
                    }
                }
                do {
                    try await agents.heartbeat(agent, busyJobs: busyJobs)
                } catch {
                    outcomes[index] = Self.outcome(of: error)
                }
                // After any agent control: both go through the same exchange in order.
                if version != catalogVersion { await publishCatalog() }
            }
        }
        // Console streams of these jobs have something new to show (output, or the end).
        defer {
            consoleSignal.notify(Set(events.compactMap { event -> JobRunID? in
                switch event {
                case .console(let attempt, _, _, _), .finished(let attempt, _, _, _): attempt.jobRunID
                default: nil
                }
            }))
        }
        guard !chunks.isEmpty || !groupOrder.isEmpty else { return outcomes }
        // One transaction for the whole burst: console chunks, then each run's events.
        let runs = groupOrder.compactMap { groups[$0] }
        let now = Date()
        let stored: (console: [StoreError?], runs: [SchedulerStore.GroupResult])
        do {
            stored = try await store.applyBatch(console: chunks.map(\.chunk), runs: runs.map { ($0.pipeline, $0.counter, $0.events) }, at: now)
        } catch {
            for entry in chunks { outcomes[entry.index] = Self.outcome(of: error) }
            for group in runs { for index in group.indices { outcomes[index] = Self.outcome(of: error) } }
            return outcomes
        }
        for (entry, error) in zip(chunks, stored.console) {
            if let error { outcomes[entry.index] = Self.outcome(of: error) }
        }
        for (group, result) in zip(runs, stored.runs) {
            let run: PipelineRun?
            let results: [Result<[PipelineAction], StoreError>]
            switch result {
            case .success(let applied): (run, results) = applied
            case .failure(let error):
                for index in group.indices { outcomes[index] = Self.outcome(of: error) }
                continue
            }
            var actions: [PipelineAction] = []
            for (position, (index, result)) in zip(group.indices, results).enumerated() {
                switch result {
                case .success(let produced):
                    actions += produced
                    // A start recorded just now (not a duplicate) feeds the latency histogram.
                    if case .jobStarted(let key, _, _) = group.events[position], let job = run?.job(key), job.startedAt == now {
                        dispatchLatency.observe(now.timeIntervalSince(job.scheduledAt))
                    }
                    // A worker took a job that was cancelled while it waited in its queue.
                    if case .jobAccepted(let key, _, _) = group.events[position], let run, let job = run.job(key),
                       job.state == .completed, job.result == .cancelled {
                        await sendCancel(JobRunID(pipeline: run.pipelineName, counter: run.counter, key: key), user: "scheduler")
                    }
                    // A worker took an attempt that had been abandoned (its message was still in
                    // hand somewhere): it must not run beside the current one.
                    if case .jobAccepted(let key, let attempt, let agent) = group.events[position], let run, let job = run.job(key),
                       attempt < job.attempt {
                        logger.warning("an abandoned attempt was taken; telling its agent to stop it", metadata: [
                            "job": "\(key)#\(attempt)", "agent": "\(agent)", "current": "\(job.attempt)"])
                        await sendCancel(JobRunID(pipeline: run.pipelineName, counter: run.counter, key: key), user: "scheduler",
                                         attempt: attempt, agent: agent)
                    }
                case .failure(let error):
                    if case .jobAccepted(let key, let attempt, let agent) = group.events[position], let run,
                       error.scheduling?.code == .conflictingEvent {
                        // A second delivery of one attempt (a dispatch published twice): the
                        // first agent to accept it keeps it; this one is told to stop.
                        logger.warning("attempt taken by a second agent; telling it to stop", metadata: [
                            "job": "\(key)#\(attempt)", "agent": "\(agent)", "holder": "\(run.job(key)?.agentID ?? "")"])
                        await sendCancel(JobRunID(pipeline: run.pipelineName, counter: run.counter, key: key), user: "scheduler",
                                         attempt: attempt, agent: agent)
                        continue
                    }
                    outcomes[index] = Self.outcome(of: error)
                }
            }
            if let run {
                for attempt in abandoned where attempt.jobRunID.pipeline == run.pipelineName && attempt.jobRunID.pipelineCounter == run.counter {
                    _ = await recordAbandon(of: attempt, in: run, at: now)
                }
            }
            if let run, !actions.isEmpty { await perform(actions, run: run) }
        }
        return outcomes
    }

    private func add(_ event: PipelineEvent, _ runID: JobRunID, _ index: Int,
                     _ groups: inout [String: (pipeline: String, counter: Int, indices: [Int], events: [PipelineEvent])],
                     _ order: inout [String]) {
        let key = "\(runID.pipeline)/\(runID.pipelineCounter)"
        if groups[key] == nil {
            groups[key] = (runID.pipeline, runID.pipelineCounter, [], [])
            order.append(key)
        }
        groups[key]?.indices.append(index)
        groups[key]?.events.append(event)
    }

    private static func outcome(of error: StoreError) -> EventOutcome {
        [.illegalTransition, .notFound, .corruptRow].contains(error.code) ? .refused(error) : .retry(error)
    }

    /// What to do with an attempt whose message came back from the broker.
    enum RedeliveryVerdict: Sendable, Equatable {
        /// Abandon it now (and dispatch the job again, if it is still the job's current attempt).
        case abandon
        /// Wait for a heartbeat that says whether it still runs: from `holder`, or from any agent
        /// when the holder's acceptance has not arrived yet (published on a connection that the
        /// same broker fault cut, it is on its way again).
        case wait(holder: String?)
    }

    /// Whether a redelivered attempt may still be running: it is the job's current attempt, the
    /// job is not `serial` (a serial job stops by itself once its delivery is lost, so that two
    /// never overlap), and its agent is unknown yet or has sent a heartbeat lately (its last one
    /// need not name the job: the job may have been taken since). A crashed agent sends no more
    /// heartbeats, and its attempt is abandoned after ``redeliveryGrace``; a lost one at once.
    /// Read failures answer `.abandon`: the job then runs again, which is always safe.
    /// `acceptedBy` is the agent that took it in events not applied yet, if any.
    func redeliveryVerdict(_ attempt: JobAttempt, acceptedBy: String? = nil) async -> RedeliveryVerdict {
        let id = attempt.jobRunID
        guard let job = config.pipeline(named: id.pipeline)?.stage(named: id.stage)?.job(named: id.job), job.serial == nil else { return .abandon }
        let run: PipelineRun?
        do {
            run = try await store.pipelineRun(id.pipeline, counter: id.pipelineCounter)
        } catch {
            logger.warning("cannot read a redelivered job's run; its attempt is abandoned", metadata: ["job": "\(attempt)", "error": "\(error)"])
            return .abandon
        }
        guard let current = run?.job(id.key), current.attempt == attempt.attempt, current.state != .completed else { return .abandon }
        guard let holder = current.agentID ?? acceptedBy else { return .wait(holder: nil) }
        guard let report = busyReports[holder], Date().timeIntervalSince(report.at) < agentLostAfter else { return .abandon }
        return .wait(holder: holder)
    }

    /// Abandons the attempts of ``pendingRedeliveries`` whose agent did not confirm in time.
    func settleRedeliveries() async {
        let now = Date()
        for (attempt, pending) in pendingRedeliveries where now.timeIntervalSince(pending.reportedAt) >= redeliveryGrace {
            pendingRedeliveries[attempt] = nil
            do {
                _ = try await abandon(attempt, reason: "its message came back from the broker (the worker holding it disconnected or gave it back) and went to \(pending.reporter)")
            } catch {
                // Kept: the next pass tries again.
                pendingRedeliveries[attempt] = pending
                logger.warning("cannot abandon a redelivered attempt", metadata: ["job": "\(attempt)", "error": "\(error)"])
            }
        }
    }
}
