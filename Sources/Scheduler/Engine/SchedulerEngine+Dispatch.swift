import Foundation
import Logging
import Shared

extension SchedulerEngine {
    /// How long a job committed as scheduled may wait for its first publish before the reconcile
    /// pass publishes it: the dispatch that follows a commit runs in a task of its own, and must
    /// not be raced.
    static let dispatchGrace: TimeInterval = 2

    /// Publishes the jobs of `run` all at once (their confirms are awaited together, not one
    /// round trip after another), then records the confirmed ones in one transaction. A job
    /// whose publish fails stays unconfirmed in the database, where the reconcile pass finds it.
    func dispatch(_ attempts: [JobAttempt], run: PipelineRun) async {
        var outgoing: [OutgoingJob] = []
        for plan in await dispatcher.plan(attempts, run: run, config: config) {
            switch plan {
            case .publish(let job) where !publishing.contains(job.attempt): outgoing.append(job)
            case .publish: continue  // already on its way
            case .missingFromConfig(let attempt): await failMissingJob(attempt, run: run)
            }
        }
        guard !outgoing.isEmpty else { return }
        publishing.formUnion(outgoing.map(\.attempt))
        defer { publishing.subtract(outgoing.map(\.attempt)) }
        // One hand-over to the connection for all of them; the confirms are awaited together.
        let errors = await publisher.publish(outgoing.map {
            AMQPClient.OutgoingMessage(body: MessageCodec.encode($0.message), exchange: "", routingKey: $0.queue,
                                       properties: MessageProperties(contentType: "application/json",
                                                                     messageID: $0.attempt.description, type: "relevo.job"))
        })
        var confirmed: [JobKey] = []
        for (job, error) in zip(outgoing, errors) {
            if let error {
                logger.warning("job not dispatched yet; will retry", metadata: ["job": "\(job.attempt)", "queue": "\(job.queue)", "error": "\(error)"])
            } else {
                logger.debug("job dispatched", metadata: ["job": "\(job.attempt)", "queue": "\(job.queue)"])
                confirmed.append(job.attempt.jobRunID.key)
            }
        }
        guard !confirmed.isEmpty else { return }
        do {
            try await store.markDispatched(confirmed, pipeline: run.pipelineName, counter: run.counter, at: Date())
        } catch {
            // The jobs are on their way; the reconcile pass will publish them once more.
            logger.warning("dispatch not recorded", metadata: ["pipeline": "\(run.pipelineName)/\(run.counter)", "error": "\(error)"])
        }
    }

    /// A job whose stage or job the config no longer has cannot run: it fails.
    private func failMissingJob(_ attempt: JobAttempt, run: PipelineRun) async {
        logger.error("job no longer in the config; failing it", metadata: ["job": "\(attempt)"])
        do {
            let actions = try await store.apply(.jobFinished(job: attempt.jobRunID.key, attempt: attempt.attempt, result: .failed),
                                                pipeline: run.pipelineName, counter: run.counter, at: Date())
            await perform(actions, run: run)
        } catch {
            logger.error("cannot fail a job missing from the config", metadata: ["job": "\(attempt)", "error": "\(error)"])
        }
    }

    // MARK: Reconciliation

    /// Publishes the jobs committed as scheduled whose dispatch the broker never confirmed (the
    /// broker was down, or the scheduler died in between), read from the database: those older
    /// than `grace` and not being published now. Returns how many it tried.
    @discardableResult
    func dispatchUnconfirmedJobs(olderThan grace: TimeInterval = 0) async -> Int {
        let waiting: [InFlightJob]
        do {
            waiting = try await store.jobsAwaitingDispatch()
        } catch {
            logger.error("cannot list jobs awaiting dispatch", metadata: ["error": "\(error)"])
            return 0
        }
        let cutoff = Date().addingTimeInterval(-grace)
        let due = waiting.filter { $0.job.scheduledAt <= cutoff && !publishing.contains($0.attempt) }
        var byRun: [String: (pipeline: String, counter: Int, attempts: [JobAttempt])] = [:]
        for job in due {
            let id = job.attempt.jobRunID
            byRun["\(id.pipeline)/\(id.pipelineCounter)", default: (id.pipeline, id.pipelineCounter, [])].attempts.append(job.attempt)
        }
        for (_, group) in byRun.sorted(by: { $0.key < $1.key }) {
            do {
                guard let run = try await store.pipelineRun(group.pipeline, counter: group.counter) else { continue }
                // Only those still scheduled at the attempt read (an event may have moved them on).
                let attempts = group.attempts.filter { attempt in
                    guard let job = run.job(attempt.jobRunID.key) else { return false }
                    return job.state == .scheduled && job.attempt == attempt.attempt
                }
                for attempt in attempts {
                    logger.info("publishing a job whose dispatch was not confirmed", metadata: ["job": "\(attempt)"])
                }
                await dispatch(attempts, run: run)
            } catch {
                logger.warning("cannot load a run to publish its jobs", metadata: ["pipeline": "\(group.pipeline)/\(group.counter)", "error": "\(error)"])
            }
        }
        return due.count
    }

    /// The periodic pass: retries deferred triggers and dispatches that were not confirmed,
    /// marks agents that fell silent as lost and dispatches their jobs again, and dispatches
    /// again jobs whose message has left their queue untaken.
    func reconcile(lostAfter: Duration) async {
        await retryDeferredTriggers()
        await dispatchUnconfirmedJobs(olderThan: Self.dispatchGrace)
        agentLostAfter = Double(lostAfter.components.seconds) + Double(lostAfter.components.attoseconds) / 1e18
        await settleRedeliveries()
        await checkAgents(lostAfter: agentLostAfter)
        await abandonUndeliveredJobs()
    }
}
