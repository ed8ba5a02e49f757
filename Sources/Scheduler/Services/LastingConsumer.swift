import Logging
import ServiceLifecycle
import Shared

/// Consumes one queue for as long as the scheduler runs: a consumer that ends (the broker
/// cancelled it, the queue is gone for a while) is started again with backoff. On graceful
/// shutdown the consumer is cancelled (its unacked messages go back to the queue) rather than the
/// task, so that a message is never half handled or dead-lettered for a cancellation.
struct LastingConsumer: Sendable {
    let client: AMQPClient
    let queue: String
    let prefetch: UInt16
    let logger: Logger

    /// Runs `take` on each consumer in turn until the scheduler stops.
    func run(_ take: @Sendable (AMQPConsumer) async throws -> Void) async {
        var failures = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let consumer = try await client.consume(queue: queue, prefetch: prefetch)
                failures = 0
                try await withGracefulShutdownHandler {
                    try await take(consumer)
                } onGracefulShutdown: {
                    Task { await consumer.cancel() }
                }
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                failures += 1
                let delay = AMQPSettings.ReconnectPolicy().delay(attempt: failures)
                logger.warning("consumer ended; starting again", metadata: ["queue": "\(queue)", "error": "\(error)", "retryIn": "\(delay)"])
                do { try await Task.sleep(for: delay) } catch { break }
            }
        }
    }
}
