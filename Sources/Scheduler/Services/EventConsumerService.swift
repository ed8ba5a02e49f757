import Logging
import ServiceLifecycle
import Shared

/// Consumes worker events and applies each to the store before acking it (so a crash between
/// the two replays the event, which every handler tolerates). Undecodable events go to
/// `relevo.dead` with the reason.
struct EventConsumerService: Service {
    let client: AMQPClient
    let publisher: AMQPClient
    let engine: SchedulerEngine
    let logger: Logger

    func run() async throws {
        await LastingConsumer(client: client, queue: QueueCatalog.schedulerEventsQueue, prefetch: 64, logger: logger).run { consumer in
            // Heartbeats may have been missed while the consumer was down.
            await engine.noteEventIntakeTrouble()
            try await consumeInBatches(consumer)
        }
    }

    /// Takes deliveries as they come, and handles whatever has arrived while the previous batch
    /// was being applied as one batch: no waiting added when idle, few transactions under load.
    private func consumeInBatches(_ consumer: AMQPConsumer) async throws {
        let inbox = DeliveryInbox()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await delivery in consumer { await inbox.put(delivery) }
                    await inbox.finish(nil)
                } catch {
                    await inbox.finish(error)
                }
            }
            try await withTaskCancellationHandler {
                while let batch = try await inbox.takeAll() { await process(batch) }
            } onCancel: {
                Task { await inbox.finish(CancellationError()) }
            }
            group.cancelAll()
        }
    }

    private func process(_ deliveries: [AMQPDelivery]) async {
        var decoded: [(delivery: AMQPDelivery, event: WorkerEvent)] = []
        for delivery in deliveries {
            // Only an agent's own signed events count: anyone else who can publish to the
            // broker cannot report a result, accept a job or speak for an agent.
            let signer: String
            switch await authenticate(delivery) {
            case .success(let agent): signer = agent
            case .failure(let refusal):
                logger.error("unauthenticated event dead-lettered", metadata: ["reason": "\(refusal.description)"])
                await deadLetter(delivery, reason: refusal.description, originalQueue: true)
                continue
            }
            let event: WorkerEvent
            do {
                event = try MessageCodec.decodeEvent(delivery.body)
            } catch {
                logger.error("poison event dead-lettered", metadata: ["reason": "\(error.description)"])
                await deadLetter(delivery, reason: error.description, originalQueue: true)
                continue
            }
            switch EventAuthentication.check(event, signer: signer) {
            case .success(let checked): decoded.append((delivery, checked))
            case .failure(let refusal):
                logger.error("event refused: it names another agent than its signer", metadata: ["reason": "\(refusal.description)"])
                await deadLetter(delivery, reason: refusal.description, originalQueue: true)
            }
        }
        guard !decoded.isEmpty else { return }
        let engine = self.engine
        // Pauses between tries end early when the scheduler stops.
        let applier = PatientEventApplier(apply: { await engine.handle($0) },
                                          sleep: { delay in try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) } },
                                          logger: logger)
        let outcomes = await applier(decoded.map(\.event))
        var done: [AMQPDelivery] = []
        for ((delivery, event), outcome) in zip(decoded, outcomes) {
            switch outcome {
            case .done:
                done.append(delivery)
            case .retry(let error):
                // Still not applied when the scheduler began to stop: handed back once, for the
                // next start.
                logger.warning("event not applied before stopping; requeued", metadata: ["event": "\(event.routingKey)", "error": "\(error)"])
                do { try await delivery.nack(requeue: true) } catch { logger.debug("requeue failed", metadata: ["error": "\(error)"]) }
            case .refused(let error):
                // An event the state machine refuses (not stale, not a duplicate): keep it out of
                // the way, with the reason, rather than redelivering it for ever.
                logger.error("event refused", metadata: ["event": "\(event.routingKey)", "error": "\(error)"])
                await deadLetter(delivery, reason: "\(error)", originalQueue: false)
            }
        }
        // The handled ones are acked together, with one `basic.ack` (`multiple`) for the newest:
        // every earlier delivery of the consumer is settled by now (batches are handled in
        // order, and the requeued or dead-lettered ones of this batch were settled above).
        for error in await AMQPDelivery.ackThrough(done).compactMap({ $0 }) {
            logger.warning("event ack failed; it will come again", metadata: ["error": "\(error)"])
        }
    }

    /// The agent that signed `delivery`, if its signature is that agent's.
    private func authenticate(_ delivery: AMQPDelivery) async -> Result<String, EventAuthentication.Refusal> {
        guard let agent = delivery.headers[EventSignature.agentHeader]?.stringValue,
              let signature = delivery.headers[EventSignature.signatureHeader]?.stringValue else {
            return .failure(.init(description: "unauthenticated: the event is not signed by an agent"))
        }
        guard let credential = await engine.agents.credentials.credential(of: agent) else {
            return .failure(.init(description: "unauthenticated: agent \(agent) has no credential (not registered, or not approved)"))
        }
        guard SHA256.constantTimeEquals(EventSignature.sign(delivery.body, credential: credential), signature) else {
            return .failure(.init(description: "unauthenticated: the signature is not agent \(agent)'s"))
        }
        return .success(agent)
    }

    private func deadLetter(_ delivery: AMQPDelivery, reason: String, originalQueue: Bool) async {
        var properties = delivery.properties
        properties.headers["x-relevo-dead-reason"] = .string(reason)
        if originalQueue { properties.headers["x-relevo-original-queue"] = .string(QueueCatalog.schedulerEventsQueue) }
        do {
            try await publisher.publish(delivery.body, exchange: "", routingKey: QueueCatalog.deadLetterQueue, properties: properties)
            try await delivery.ack()
        } catch {
            // Handed back rather than left unacked: the batch's acks cover every earlier delivery.
            logger.error("could not dead-letter an event; handing it back", metadata: ["error": "\(error)"])
            do { try await delivery.nack(requeue: true) } catch { logger.debug("hand-back failed", metadata: ["error": "\(error)"]) }
        }
    }
}
