import Foundation
import Logging
import ServiceLifecycle
import Shared

/// One agent: it follows the scheduler's queue catalogue, consumes every job queue it qualifies
/// for, runs jobs in its slots and reports them. On graceful shutdown it stops taking jobs,
/// hands back the ones that had not started, and lets the running ones finish.
final class WorkerService: Service, Sendable {
    let settings: WorkerSettings
    let identity: AgentIdentity
    let executor: JobRunner
    let logger: Logger
    private let state: AgentRuntime

    /// Signs the agent's events (see ``AgentRegistration``).
    let credential: [UInt8]

    init(settings: WorkerSettings, identity: AgentIdentity, credential: [UInt8], executor: JobRunner, logger: Logger) {
        self.settings = settings
        self.identity = identity
        self.credential = credential
        self.executor = executor
        self.logger = logger
        self.state = AgentRuntime(slots: settings.slots, resources: identity.resources, environments: identity.environments)
    }

    func run() async throws {
        var brokerSettings = try AMQPSettings(url: settings.brokerURL, connectionName: "relevo-worker \(settings.name) (publish)")
        let publisher = try await AMQPClient.connect(brokerSettings, logger: logger, waitUpTo: .seconds(120))
        brokerSettings.connectionName = "relevo-worker \(settings.name) (consume)"
        let consumer: AMQPClient
        do {
            consumer = try await AMQPClient.connect(brokerSettings, logger: logger, waitUpTo: .seconds(120))
        } catch {
            await publisher.close()
            throw error
        }
        let events = EventPublisher(client: publisher, logger: logger, agent: identity.uuid, credential: credential)
        logger.info("worker started", metadata: ["name": "\(identity.name)", "uuid": "\(identity.uuid)",
                                                 "resources": "\(identity.resources)", "environments": "\(identity.environments)",
                                                 "slots": "\(identity.slots)"])
        TaskProcesses.report(to: logger)
        do {
            try await publisher.declare(AMQPTopology(exchanges: QueueCatalog.workerExchanges))
            let catalogQueue = "relevo.catalog.\(identity.uuid)"
            try await consumer.declare(AMQPTopology(
                exchanges: [ExchangeDefinition(name: QueueCatalog.catalogExchange, kind: .fanout)],
                queues: [QueueDefinition(name: catalogQueue, durable: false, autoDelete: true)],
                bindings: [BindingDefinition(queue: catalogQueue, exchange: QueueCatalog.catalogExchange, routingKey: "")]))
            // The consumer connection came back (its broker node died, say): a heartbeat at once
            // tells the scheduler which jobs still run here, before it gives them to another agent.
            // The publishing connection's recovery too: a heartbeat that failed while it was down
            // is only sent once it is back.
            let recovery = Task {
                await withDiscardingTaskGroup { group in
                    for client in [consumer, publisher] {
                        group.addTask {
                            for await event in client.events() where event == .recovered {
                                await self.sendHeartbeat(events, patience: .seconds(5))
                            }
                        }
                    }
                }
            }
            defer { recovery.cancel() }
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.heartbeats(events) }
                    group.addTask { await self.followCatalog(queue: catalogQueue, consumer: consumer, events: events) }
                }
            } onGracefulShutdown: {
                Task { await self.state.beginStopping() }
            }
        } catch {
            await consumer.close()
            await publisher.close()
            throw error
        }
        await state.jobs.waitUntilIdle()
        await consumer.close()
        await publisher.close()
        logger.info("worker stopped", metadata: ["name": "\(identity.name)"])
    }

    // MARK: Heartbeats and the catalogue

    private func heartbeats(_ events: EventPublisher) async {
        while await state.isAlive {
            await sendHeartbeat(events)
            if await state.isStopping {
                // Draining: keep telling the scheduler the agent is alive while its jobs finish.
                do { try await Task.sleep(for: min(settings.heartbeatInterval, .seconds(1))) } catch { return }
            } else {
                await state.sleepUnlessStopping(settings.heartbeatInterval)
            }
        }
    }

    /// Sends a heartbeat, trying for up to `patience`. Each try reads the running jobs afresh: the
    /// scheduler takes a heartbeat that does not name a job as word that the job no longer runs
    /// here, so one read before a job was taken must never arrive after it.
    private func sendHeartbeat(_ events: EventPublisher, patience: Duration = .seconds(1)) async {
        let deadline = ContinuousClock.now + patience
        while true {
            // Its own resources, and those an administrator set if it uses them.
            var current = identity
            current.appliedResources = await state.assignedResources
            current.appliedEnvironments = await state.assignedEnvironments
            let event = WorkerEvent.heartbeat(current, busyJobs: await state.jobs.jobRunIDs, catalogVersion: await state.catalogVersion)
            do {
                try await events.publish(event, patience: .zero)
                return
            } catch {
                guard error.isRetriable, ContinuousClock.now < deadline else {
                    logger.debug("heartbeat not sent", metadata: ["error": "\(error)"])
                    return
                }
            }
            do { try await Task.sleep(for: .milliseconds(200)) } catch { return }
        }
    }

    /// Follows the catalogue for as long as the agent runs, consuming again after a failure.
    private func followCatalog(queue: String, consumer: AMQPClient, events: EventPublisher) async {
        await withDiscardingTaskGroup { group in
            var failures = 0
            while await !state.isStopping {
                do {
                    let catalog = try await consumer.consume(queue: queue, prefetch: 10)
                    failures = 0
                    let stopper = Task {
                        await self.state.waitUntilStopping()
                        await catalog.cancel()
                    }
                    defer { stopper.cancel() }
                    for try await delivery in catalog {
                        for (entry, generation) in await follow(delivery) {
                            group.addTask { await self.consumeJobs(entry, generation: generation, client: consumer, events: events) }
                        }
                    }
                } catch {
                    failures += 1
                    let delay = AMQPSettings.ReconnectPolicy().delay(attempt: failures)
                    logger.warning("catalogue consumer ended; starting again", metadata: ["error": "\(error)", "retryIn": "\(delay)"])
                    await state.sleepUnlessStopping(delay)
                }
            }
        }
    }

    /// Reads a catalogue message; returns the job queues this agent qualifies for and does not
    /// consume yet, each with the generation its consumer runs under (see ``AgentRuntime``).
    private func follow(_ delivery: AMQPDelivery) async -> [(QueueCatalogMessage.Entry, Int)] {
        var newEntries: [(QueueCatalogMessage.Entry, Int)] = []
        if delivery.properties.type == AgentControl.messageType {
            do {
                let control = try MessageCodec.decodeAgentControl(delivery.body)
                if control.uuid == identity.uuid {
                    if await state.setDisabled(!control.enabled) {
                        logger.notice(control.enabled ? "agent enabled by the scheduler: taking jobs again"
                                                       : "agent disabled by the scheduler: no new jobs; running ones finish")
                    }
                    let change = await state.reconfigure(resources: control.resources, environments: control.environments,
                                                         own: (identity.resources, identity.environments))
                    if let change {
                        newEntries = change.followed
                        let (resources, environments) = (await state.resources, await state.environments)
                        logger.notice("resources or environments changed by the scheduler", metadata: [
                            "resources": "\(resources)", "environments": "\(environments)",
                            "follows": "\(change.followed.map(\.0.queue))", "leaves": "\(change.left)"])
                    }
                }
            } catch {
                logger.warning("unusable agent control ignored", metadata: ["error": "\(error)"])
            }
            do { try await delivery.ack() } catch { logger.debug("control ack failed", metadata: ["error": "\(error)"]) }
            return newEntries
        }
        if delivery.properties.type == JobCancel.messageType {
            do {
                let cancel = try MessageCodec.decodeCancel(delivery.body)
                if cancel.agent == nil || cancel.agent == identity.uuid, await state.jobs.cancel(cancel.jobRunID, attempt: cancel.attempt) {
                    logger.info("job cancelled by the scheduler", metadata: ["job": "\(cancel.jobRunID)", "by": "\(cancel.user)"])
                }
            } catch {
                logger.warning("unusable cancel ignored", metadata: ["error": "\(error)"])
            }
            do { try await delivery.ack() } catch { logger.debug("cancel ack failed", metadata: ["error": "\(error)"]) }
            return []
        }
        do {
            let message = try MessageCodec.decodeCatalog(delivery.body)
            let change = await state.accept(message)
            newEntries = change.followed
            if !newEntries.isEmpty {
                logger.info("following job queues", metadata: ["queues": "\(newEntries.map(\.0.queue))", "catalog": "\(message.version)"])
            }
            if !change.left.isEmpty {
                logger.info("leaving job queues", metadata: ["queues": "\(change.left)", "catalog": "\(message.version)"])
            }
        } catch {
            logger.warning("unusable queue catalogue ignored", metadata: ["error": "\(error)"])
        }
        do { try await delivery.ack() } catch { logger.debug("catalogue ack failed", metadata: ["error": "\(error)"]) }
        return newEntries
    }

    // MARK: Jobs

    /// Consumes one job queue for as long as the agent runs, starting again (with backoff) when
    /// the broker cancels the consumer or the connection is being recovered.
    /// The consumer ends, once the running jobs have finished, when the agent no longer qualifies
    /// for the queue (an administrator changed its resources or environments).
    private func consumeJobs(_ entry: QueueCatalogMessage.Entry, generation: Int, client: AMQPClient, events: EventPublisher) async {
        var failures = 0
        while await !state.isStopping, await state.follows(entry.queue, generation: generation) {
            await state.waitUntilEnabled()
            if await state.isStopping { break }
            do {
                try await client.declare(AMQPTopology(queues: [entry.definition]))
                let consumer = try await client.consume(queue: entry.queue, prefetch: UInt16(entry.serial ? 1 : settings.slots))
                failures = 0
                // Once the agent must take no more jobs from this queue (stopping, disabled by an
                // administrator, or no longer qualified), deliveries stop at once: a delivery
                // handed back would come straight back to this consumer, and each return counts
                // towards the queue's delivery limit. The channel stays open until the running jobs
                // are acked (closing it would hand them out again), then closes.
                let hold = entry.serial ? SerialHold() : nil
                let watcher = Task {
                    await self.state.waitUntilNotTakingJobs(from: entry.queue, generation: generation)
                    await hold?.waitUntilFree()
                    await consumer.pause()
                    await self.state.jobs.waitUntilIdle()
                    await consumer.cancel()
                }
                defer { watcher.cancel() }
                for try await delivery in consumer {
                    await state.slots.acquire()
                    await hold?.take()
                    if await !state.takesJobs(from: entry.queue, generation: generation) {
                        // Sent before the pause reached the broker, or prefetched: handed back
                        // once, to go to another worker (this consumer gets no more).
                        await hold?.release()
                        await state.slots.release()
                        do { try await delivery.nack(requeue: true) } catch { logger.debug("hand-back failed", metadata: ["error": "\(error)"]) }
                        continue
                    }
                    let id = UUID()
                    let job = Task {
                        await self.handle(delivery, queue: entry.queue, serial: entry.serial, events: events) {
                            // A serial queue's consumer stops before the job is acked, if it must.
                            if hold != nil, await !self.state.takesJobs(from: entry.queue, generation: generation) { await consumer.pause() }
                        }
                        await hold?.release()
                        await self.state.slots.release()
                        await self.state.jobs.untrack(id)
                    }
                    await state.jobs.track(job, id: id)
                }
            } catch {
                failures += 1
                let delay = AMQPSettings.ReconnectPolicy().delay(attempt: failures)
                logger.warning("job queue consumer ended; starting again", metadata: ["queue": "\(entry.queue)", "error": "\(error)", "retryIn": "\(delay)"])
                await state.sleepUnlessStopping(delay)
            }
        }
    }

    /// Runs one delivered job and settles the delivery after the result is confirmed (and after
    /// `beforeSettle`).
    private func handle(_ delivery: AMQPDelivery, queue: String, serial: Bool, events: EventPublisher,
                        beforeSettle: () async -> Void = {}) async {
        let job: JobMessage
        do {
            job = try MessageCodec.decodeJob(delivery.body)
        } catch {
            await deadLetter(delivery, queue: queue, reason: error.description, events: events)
            return
        }
        // A delivery buffered from before a reconnect has been handed out again already.
        guard await delivery.isLive() else {
            logger.info("stale job delivery skipped; the broker has requeued it", metadata: ["job": "\(job.jobRunID)"])
            return
        }
        let attempt = job.jobAttempt
        // A second delivery of an attempt (its first holder's connection closed, or it was handed
        // back) is not run here: the scheduler, told, abandons the attempt and dispatches the job
        // again, or ignores it if it has moved on. So every run of a job is an attempt of the
        // scheduler's, and a stale message never runs beside its successor.
        if delivery.redelivered || delivery.deliveryCount > 0 {
            // Unless it is this worker's own run, still going: its connection to the broker was
            // cut (a node of the cluster died) and the message came back to it. The run here
            // reports its result; reporting the redelivery would have the attempt abandoned and
            // run twice. (A serial job stops once its delivery is lost, so it is reported.)
            if !serial, await state.jobs.isRunning(attempt) {
                logger.info("own running job delivered again after a reconnect; it goes on here", metadata: ["job": "\(attempt)"])
                do { try await delivery.ack() } catch { logger.debug("duplicate ack failed", metadata: ["error": "\(error)"]) }
                return
            }
            do {
                try await events.publish(.redelivered(attempt, agent: identity), patience: .seconds(30))
                try await delivery.ack()
                logger.info("redelivered job handed to the scheduler", metadata: ["job": "\(attempt)", "deliveries": "\(delivery.deliveryCount + 1)"])
            } catch {
                // Given back (not left unacked): the next worker to get it reports it.
                logger.warning("redelivered job not reported; handing it back", metadata: ["job": "\(attempt)", "error": "\(error)"])
                do { try await delivery.nack(requeue: true) } catch { logger.debug("hand-back failed", metadata: ["error": "\(error)"]) }
            }
            return
        }
        guard await state.jobs.begin(attempt) else {
            // The same attempt again, not marked redelivered: it runs (or ran) here already, and
            // that run reports its result. This copy is acked so that it never runs twice.
            logger.warning("job delivered again unmarked while it runs or ran here; not run twice", metadata: ["job": "\(attempt)"])
            do { try await delivery.ack() } catch { logger.debug("duplicate ack failed", metadata: ["error": "\(error)"]) }
            return
        }
        // A serial job whose delivery is lost (the channel closed: a broker restart, a network
        // cut) will be handed to another worker: it stops here at once, without a result, so
        // that the two never overlap. The scheduler learns of it from the redelivery.
        let guardian = serial ? Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                if Task.isCancelled { return }
                if await !delivery.isLive() {
                    logger.warning("serial job's delivery lost; stopping it here, it runs again elsewhere", metadata: ["job": "\(attempt)"])
                    await state.jobs.abandon(job.jobRunID)
                    return
                }
            }
        } : nil
        let reported = await executor.execute(job, attempt: attempt, agent: identity, events: events, running: state.jobs,
                                              supervised: serial)
        guardian?.cancel()
        await state.jobs.end(job.jobRunID)
        await beforeSettle()
        do {
            if reported {
                try await delivery.ack()
            } else {
                // The result never reached the broker: the job must run again, not vanish.
                try await delivery.nack(requeue: true)
            }
        } catch {
            logger.warning("job settle failed; the broker will hand the job out again", metadata: ["job": "\(job.jobRunID)", "error": "\(error)"])
        }
    }

    /// A message that is not a job we understand goes to `relevo.dead` with the reason, and is
    /// acked, so it never crashes or blocks a worker.
    private func deadLetter(_ delivery: AMQPDelivery, queue: String, reason: String, events: EventPublisher) async {
        logger.error("poison job message dead-lettered", metadata: ["queue": "\(queue)", "reason": "\(reason)"])
        var properties = delivery.properties
        properties.headers["x-relevo-dead-reason"] = .string(reason)
        properties.headers["x-relevo-original-queue"] = .string(queue)
        properties.headers["x-relevo-dead-by"] = .string(identity.name)
        do {
            try await events.client.publish(delivery.body, exchange: QueueCatalog.deadLetterExchange, routingKey: "", properties: properties)
            try await delivery.ack()
        } catch {
            logger.error("could not dead-letter; handing the message back", metadata: ["error": "\(error)"])
            do { try await delivery.nack(requeue: true) } catch { logger.debug("hand-back failed", metadata: ["error": "\(error)"]) }
        }
    }
}
