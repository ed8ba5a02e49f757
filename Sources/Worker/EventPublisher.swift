import Logging
import Shared

/// Publishes worker events on the events exchange, each confirmed by the broker. Events that
/// matter (accepted, finished) are retried through reconnects; console chunks are best effort
/// beyond a few tries, since the job's result must not wait on a lost log line.
struct EventPublisher: Sendable {
    let client: AMQPClient
    let logger: Logger
    /// The agent's UUID and credential: every event is signed (see ``EventSignature``).
    let agent: String
    let credential: [UInt8]

    /// Publishes `event`, retrying retriable failures with backoff for at most `patience`.
    func publish(_ event: WorkerEvent, patience: Duration = .seconds(300)) async throws(AMQPError) {
        let deadline = ContinuousClock.now + patience
        var attempt = 0
        while true {
            attempt += 1
            do throws(AMQPError) {
                let body = MessageCodec.encodeEvent(event)
                let signature: [String: AMQPValue] = [EventSignature.agentHeader: .string(agent),
                                                      EventSignature.signatureHeader: .string(EventSignature.sign(body, credential: credential))]
                try await client.publish(body, exchange: QueueCatalog.eventsExchange, routingKey: event.routingKey,
                                         properties: MessageProperties(contentType: "application/json", headers: signature, type: event.routingKey))
                return
            } catch {
                guard error.isRetriable, ContinuousClock.now < deadline, !Task.isCancelled else { throw error }
                let delay = AMQPSettings.ReconnectPolicy().delay(attempt: attempt)
                logger.debug("event publish failed; retrying", metadata: ["event": "\(event.routingKey)", "error": "\(error)", "retryIn": "\(delay)"])
                do { try await Task.sleep(for: delay) } catch { throw AMQPError(.closed, operation: "publish \(event.routingKey)", message: "cancelled") }
            }
        }
    }
}
