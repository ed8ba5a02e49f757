import Foundation
import Logging
import ServiceLifecycle
import Shared

/// Reads `relevo.dead`, so that a dead-lettered job or event is never silent: each message is
/// acted on (a dead job message fails its job with the reason in the console), recorded in the
/// store (`GET /go/api/dead_letters`, `relevo_dead_letters_total`) and logged, then acked. A
/// message the store cannot record now is held and tried again, not handed back.
struct DeadLetterService: Service {
    let client: AMQPClient
    let engine: SchedulerEngine
    let logger: Logger

    func run() async throws {
        await LastingConsumer(client: client, queue: QueueCatalog.deadLetterQueue, prefetch: 16, logger: logger).run { consumer in
            for try await delivery in consumer { await take(delivery) }
        }
    }

    private func take(_ delivery: AMQPDelivery) async {
        let letter = DeadLetter(properties: delivery.properties, routingKey: delivery.routingKey, body: delivery.body)
        var tries = 0
        while true {
            do {
                let outcome = try await engine.handle(letter)
                try await engine.store.recordDeadLetter(letter, outcome: outcome, at: Date())
                break
            } catch {
                tries += 1
                let delay = AMQPSettings.ReconnectPolicy(maximum: .seconds(10)).delay(attempt: tries)
                logger.warning("dead letter not recorded yet; trying again", metadata: ["error": "\(error)", "retryIn": "\(delay)"])
                do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) } } catch {
                    // Stopping: left unacked, it stays in relevo.dead for the next start.
                    return
                }
            }
        }
        do { try await delivery.ack() } catch { logger.debug("dead letter ack failed; it will be read again", metadata: ["error": "\(error)"]) }
    }
}
