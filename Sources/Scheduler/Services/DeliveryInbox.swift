import Logging
import ServiceLifecycle
import Shared

/// Deliveries received and not yet handled; ``takeAll()`` hands over everything at once.
actor DeliveryInbox {
    private var items: [AMQPDelivery] = []
    private var ended = false
    private var failure: (any Error)?
    private var waiter: CheckedContinuation<Void, Never>?

    func put(_ delivery: AMQPDelivery) {
        items.append(delivery)
        wake()
    }

    /// No more deliveries; `error` (if any) is thrown once the remaining ones are taken.
    func finish(_ error: (any Error)?) {
        guard !ended else { return }
        ended = true
        failure = error
        wake()
    }

    /// Everything received so far (waiting for at least one), or nil once finished and drained.
    func takeAll() async throws -> [AMQPDelivery]? {
        while items.isEmpty {
            if ended {
                if let failure { throw failure }
                return nil
            }
            await withCheckedContinuation { waiter = $0 }
        }
        let batch = items
        items.removeAll(keepingCapacity: true)
        return batch
    }

    private func wake() {
        waiter?.resume()
        waiter = nil
    }
}
