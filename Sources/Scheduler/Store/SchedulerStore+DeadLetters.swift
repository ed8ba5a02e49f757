import Foundation
import Shared
import GRDB

/// A dead-lettered message as recorded, with what the scheduler did about it.
struct DeadLetterRecord: Sendable, Equatable {
    var id: Int64
    var receivedAt: Date
    var letter: DeadLetter
    /// What the scheduler did, e.g. `job app/1/build/1/compile/1 failed (attempt 1)`.
    var outcome: String
}

extension SchedulerStore {
    /// Records a message read from `relevo.dead`.
    func recordDeadLetter(_ letter: DeadLetter, outcome: String, at now: Date) async throws(StoreError) {
        try await write("record a dead letter") { db in
            try db.execute(
                sql: """
                    INSERT INTO dead_letters (received_at, kind, original_queue, reason, message_id, outcome, body)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [now, letter.kind.rawValue, letter.originalQueue, letter.reason, letter.messageID, outcome, letter.bodyPrefix])
        }
    }

    /// The newest `limit` dead letters, newest first.
    func deadLetters(limit: Int) async throws(StoreError) -> [DeadLetterRecord] {
        try await read("list dead letters") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?", arguments: [max(0, limit)]).map { row in
                let kind = DeadLetter.Kind(rawValue: row["kind"]) ?? .other
                var letter = DeadLetter(kind: kind, originalQueue: row["original_queue"], reason: row["reason"], messageID: row["message_id"],
                                        bodyPrefix: row["body"])
                if kind == .job { letter.jobRunID = letter.messageID.flatMap(JobRunID.init(parsing:)) }
                return DeadLetterRecord(id: row["id"], receivedAt: row["received_at"], letter: letter, outcome: row["outcome"])
            }
        }
    }

    /// Dead letters recorded, by kind.
    func deadLetterCounts() async throws(StoreError) -> [DeadLetter.Kind: Int] {
        try await read("count dead letters") { db in
            var counts: [DeadLetter.Kind: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, COUNT(*) AS n FROM dead_letters GROUP BY kind") {
                counts[DeadLetter.Kind(rawValue: row["kind"]) ?? .other, default: 0] += row["n"] as Int
            }
            return counts
        }
    }
}
