import Synchronization

/// Broadcasts values to any number of `AsyncStream` subscribers; safe from any thread.
final class EventHub<Value: Sendable>: Sendable {
    private let state = Mutex<(next: Int, subscribers: [Int: AsyncStream<Value>.Continuation], finished: Bool)>((0, [:], false))

    /// A new stream that receives every value sent from now on.
    func subscribe() -> AsyncStream<Value> {
        let (stream, continuation) = AsyncStream<Value>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let finished = state.withLock { state -> Bool in
            if state.finished { return true }
            let id = state.next
            state.next += 1
            state.subscribers[id] = continuation
            continuation.onTermination = { [weak self] _ in
                self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
            }
            return false
        }
        if finished { continuation.finish() }
        return stream
    }

    func send(_ value: Value) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers { subscriber.yield(value) }
    }

    func finish() {
        let subscribers = state.withLock { state -> [AsyncStream<Value>.Continuation] in
            state.finished = true
            let all = Array(state.subscribers.values)
            state.subscribers.removeAll()
            return all
        }
        for subscriber in subscribers { subscriber.finish() }
    }
}
