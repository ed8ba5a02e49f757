import Foundation
import GRDB

/// What a user unlocked (GoCD's "unlock" of a `lockOnFailure` pipeline whose instance failed).
extension SchedulerStore {
    /// Records that instance `counter` of `pipeline` no longer holds the pipeline's lock.
    func recordUnlock(of pipeline: String, counter: Int) async throws(StoreError) {
        try await write("unlock \(pipeline)") { db in
            try db.execute(
                cached: """
                    INSERT INTO pipeline_unlocks (pipeline_name, counter) VALUES (?, ?)
                    ON CONFLICT (pipeline_name) DO UPDATE SET counter = excluded.counter
                    """,
                arguments: [pipeline, counter])
        }
    }

    /// The counter of the instance of `pipeline` last unlocked by a user, if any.
    func unlockedCounter(of pipeline: String) async throws(StoreError) -> Int? {
        try await read("unlock state of \(pipeline)") { db in
            try Int.fetchOne(db, cached: "SELECT counter FROM pipeline_unlocks WHERE pipeline_name = ?", arguments: [pipeline])
        }
    }
}
