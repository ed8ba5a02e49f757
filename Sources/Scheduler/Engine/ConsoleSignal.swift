import Foundation
import Synchronization
import Shared

/// Wakes the readers of a job's console (the dashboard's server-sent events) when the engine has
/// stored new output or a result for that job, so a stream pushes a line as soon as it is
/// committed instead of polling. Keyed by job run.
final class ConsoleSignal: Sendable {
    private struct Waiter {
        let key: JobRunID
        let continuation: CheckedContinuation<Void, Never>
    }

    private let waiters = Mutex<[UUID: Waiter]>([:])
    private let closed = Mutex(false)

    /// The server is stopping: streams end now instead of holding the shutdown up.
    var isClosed: Bool { closed.withLock { $0 } }

    /// Ends every stream (on graceful shutdown).
    func close() {
        closed.withLock { $0 = true }
        let woken = waiters.withLock { waiters in
            defer { waiters.removeAll() }
            return waiters.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Wakes every reader of these jobs.
    func notify(_ keys: Set<JobRunID>) {
        guard !keys.isEmpty else { return }
        let woken = waiters.withLock { waiters in
            let matching = waiters.filter { keys.contains($0.value.key) }
            for id in matching.keys { waiters[id] = nil }
            return matching.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when `key` is notified, or after `timeout` (a notification that came between the
    /// caller's last read and this call is caught by the next read after the timeout).
    func wait(for key: JobRunID, upTo timeout: Duration) async {
        if isClosed { return }
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    self.waiters.withLock { $0[id] = Waiter(key: key, continuation: continuation) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.wake(id)
            }
            await group.next()
            group.cancelAll()
            self.wake(id)
        }
    }

    private func wake(_ id: UUID) {
        waiters.withLock { $0.removeValue(forKey: id) }?.continuation.resume()
    }
}
