import Shared

/// Reads a consumer in the background and keeps what arrived, so that a test can look at the
/// deliveries (and settle them) whenever it likes.
final class DeliveryCollector: Sendable {
    private let state = Locked<(deliveries: [AMQPDelivery], ended: (any Error)?, finished: Bool)>(([], nil, false))
    private let task: Task<Void, Never>

    /// Starts reading `consumer`; with `autoAck`, each delivery is acked as it arrives.
    init(_ consumer: AMQPConsumer, autoAck: Bool = false) {
        let state = self.state
        task = Task {
            do {
                for try await delivery in consumer {
                    if autoAck { try? await delivery.ack() }
                    state.withLock { $0.deliveries.append(delivery) }
                }
                state.withLock { $0.finished = true }
            } catch {
                state.withLock { $0.ended = error; $0.finished = true }
            }
        }
    }

    var deliveries: [AMQPDelivery] { state.withLock { $0.deliveries } }
    var texts: [String] { deliveries.map(\.text) }
    var count: Int { state.withLock { $0.deliveries.count } }
    /// The error the sequence ended with, if it ended with one.
    var endError: (any Error)? { state.withLock { $0.ended } }
    var isFinished: Bool { state.withLock { $0.finished } }

    func stop() { task.cancel() }
}

/// Records a client's events for later assertions.
final class EventRecorder: Sendable {
    private let events = Locked<[AMQPEvent]>([])
    private let task: Task<Void, Never>

    init(_ client: AMQPClient) {
        let stream = client.events()
        let events = self.events
        task = Task {
            for await event in stream { events.withLock { $0.append(event) } }
        }
    }

    var all: [AMQPEvent] { events.withLock { $0 } }

    func contains(_ predicate: (AMQPEvent) -> Bool) -> Bool { all.contains(where: predicate) }

    func stop() { task.cancel() }
}

extension AMQPEvent {
    var isDisconnected: Bool { if case .disconnected = self { return true } else { return false } }
    var isRecovered: Bool { self == .recovered }
}
