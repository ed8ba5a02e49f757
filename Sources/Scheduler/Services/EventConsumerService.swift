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
        var failures = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let consumer = try await client.consume(queue: QueueCatalog.schedulerEventsQueue, prefetch: 64)
                failures = 0
                // On shutdown the consumer is cancelled (its unacked events go back to the queue)
                // rather than the task, so an event is never half applied and never dead-lettered
                // for a cancellation.
                try await withGracefulShutdownHandler {
                    for try await delivery in consumer { await process(delivery) }
                } onGracefulShutdown: {
                    Task { await consumer.cancel() }
                }
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                failures += 1
                let delay = AMQPSettings.ReconnectPolicy().delay(attempt: failures)
                logger.warning("event consumer ended; starting again", metadata: ["error": "\(error)", "retryIn": "\(delay)"])
                do { try await Task.sleep(for: delay) } catch { break }
            }
        }
    }

    private func process(_ delivery: AMQPDelivery) async {
        let event: WorkerEvent
        do {
            event = try MessageCodec.decodeEvent(delivery.body)
        } catch {
            logger.error("poison event dead-lettered", metadata: ["reason": "\(error.description)"])
            var properties = delivery.properties
            properties.headers["x-relevo-dead-reason"] = .string(error.description)
            properties.headers["x-relevo-original-queue"] = .string(QueueCatalog.schedulerEventsQueue)
            do {
                try await publisher.publish(delivery.body, exchange: "", routingKey: QueueCatalog.deadLetterQueue, properties: properties)
                try await delivery.ack()
            } catch {
                logger.error("could not dead-letter an event", metadata: ["error": "\(error)"])
            }
            return
        }
        do {
            try await engine.handle(event)
            try await delivery.ack()
        } catch let error as AMQPError {
            logger.warning("event ack failed; it will come again", metadata: ["error": "\(error)"])
        } catch let error as StoreError where ![.illegalTransition, .notFound, .corruptRow].contains(error.code) {
            // Busy, cancelled, disk trouble: not the event's fault. Give it back and keep it.
            logger.warning("event not applied yet; requeued", metadata: ["event": "\(event.routingKey)", "error": "\(error)"])
            do { try await delivery.nack(requeue: true) } catch { logger.debug("requeue failed", metadata: ["error": "\(error)"]) }
        } catch {
            // An event the state machine refuses (not stale, not a duplicate): keep it out of the
            // way, with the reason, rather than redelivering it for ever.
            logger.error("event refused", metadata: ["event": "\(event.routingKey)", "error": "\(error)"])
            var properties = delivery.properties
            properties.headers["x-relevo-dead-reason"] = .string("\(error)")
            do {
                try await publisher.publish(delivery.body, exchange: "", routingKey: QueueCatalog.deadLetterQueue, properties: properties)
                try await delivery.ack()
            } catch {
                logger.error("could not dead-letter a refused event", metadata: ["error": "\(error)"])
            }
        }
    }
}
