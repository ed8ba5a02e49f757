import GRDB
import Synchronization

/// The runs being worked on, as last committed, so that applying a burst of worker events does
/// not read a run's rows (and decode its job plans) again each time: that read was an eighth of
/// the scheduler's CPU under load.
///
/// Every write of a run goes through ``SchedulerStore`` (`createRun`, `apply`, `applyBatch`),
/// inside GRDB's write transactions, which run one at a time. A transition *takes* the run out;
/// it goes back only once its changes are committed (``keep(_:in:)``, called once nothing more
/// can roll them back), so a failed transition leaves no trace here and the next one reads the
/// rows. Completed runs are not kept, and the cache is emptied when full: a miss costs one read.
final class RunCache: Sendable {
    static let capacity = 256
    private let entries = Mutex<[Key: StoredPipelineRun]>([:])

    /// `pipeline_name` is `COLLATE NOCASE` (ASCII case folding): so is the key.
    private struct Key: Hashable {
        let pipeline: String
        let counter: Int

        init(_ pipeline: String, _ counter: Int) {
            self.pipeline = String(decoding: pipeline.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
            self.counter = counter
        }
    }

    /// Removes and returns the run, if it is kept.
    func take(_ pipeline: String, counter: Int) -> StoredPipelineRun? {
        entries.withLock { $0.removeValue(forKey: Key(pipeline, counter)) }
    }

    /// Keeps `stored` once the current transaction of `db` commits (nothing if it rolls back).
    /// Call it only where nothing more can roll `stored`'s changes back but the transaction.
    func keep(_ stored: StoredPipelineRun, in db: Database) {
        db.afterNextTransaction(onCommit: { [self] _ in put(stored) })
    }

    /// How many runs are kept (for tests).
    var count: Int { entries.withLock { $0.count } }

    private func put(_ stored: StoredPipelineRun) {
        entries.withLock { entries in
            let key = Key(stored.run.pipelineName, stored.run.counter)
            guard !stored.run.isCompleted else {
                entries.removeValue(forKey: key)
                return
            }
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = stored
        }
    }
}
