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

/// Upstream triggers waiting for their locked downstream pipeline, kept across restarts.
extension SchedulerStore {
    /// Keeps `trigger` until ``removeDeferredTrigger(_:)``; returns its id.
    func deferTrigger(_ trigger: DeferredTrigger, at now: Date) async throws(StoreError) -> Int64 {
        try await write("defer a trigger of \(trigger.pipeline)") { db in
            try db.execute(
                cached: "INSERT INTO deferred_triggers (pipeline_name, cause, revisions, deferred_at) VALUES (?, ?, ?, ?)",
                arguments: [trigger.pipeline, try JSONColumn.encode(trigger.cause), try JSONColumn.encode(trigger.revisions), now])
            return db.lastInsertedRowID
        }
    }

    /// Every deferred trigger, oldest first.
    func deferredTriggers() async throws(StoreError) -> [DeferredTrigger] {
        try await read("list deferred triggers") { db in
            try Row.fetchAll(db, cached: "SELECT * FROM deferred_triggers ORDER BY id").map { row in
                DeferredTrigger(pipeline: try row.value("pipeline_name"), cause: try row.json("cause"),
                                revisions: try row.json("revisions"), retried: true, id: try row.value("id"))
            }
        }
    }

    /// Forgets a deferred trigger (it ran, or can never run).
    func removeDeferredTrigger(_ id: Int64) async throws(StoreError) {
        try await write("remove deferred trigger \(id)") { db in
            try db.execute(cached: "DELETE FROM deferred_triggers WHERE id = ?", arguments: [id])
        }
    }
}

/// Who paused which pipeline (GoCD's pause).
struct PipelinePause: Sendable, Equatable {
    var pipeline: String
    var pausedBy: String
    var reason: String
    var pausedAt: Date
}

extension SchedulerStore {
    /// Pauses `pipeline`; false if it was paused already.
    func pause(_ pipeline: String, by user: String, reason: String, at now: Date) async throws(StoreError) -> Bool {
        try await write("pause \(pipeline)") { db in
            try db.execute(cached: "INSERT OR IGNORE INTO pipeline_pauses (pipeline_name, paused_by, reason, paused_at) VALUES (?, ?, ?, ?)",
                           arguments: [pipeline, user, reason, now])
            return db.changesCount > 0
        }
    }

    /// Unpauses `pipeline`; false if it was not paused.
    func unpause(_ pipeline: String) async throws(StoreError) -> Bool {
        try await write("unpause \(pipeline)") { db in
            try db.execute(cached: "DELETE FROM pipeline_pauses WHERE pipeline_name = ?", arguments: [pipeline])
            return db.changesCount > 0
        }
    }

    /// Every paused pipeline, by name.
    func pauses() async throws(StoreError) -> [String: PipelinePause] {
        try await read("pauses") { db in
            var pauses: [String: PipelinePause] = [:]
            for row in try Row.fetchAll(db, cached: "SELECT * FROM pipeline_pauses") {
                let pause = PipelinePause(pipeline: row["pipeline_name"], pausedBy: row["paused_by"], reason: row["reason"], pausedAt: row["paused_at"])
                pauses[pause.pipeline.lowercased()] = pause
            }
            return pauses
        }
    }
}
