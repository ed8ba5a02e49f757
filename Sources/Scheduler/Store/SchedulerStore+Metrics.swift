import Foundation
import GRDB

extension SchedulerStore {
    /// Job runs by state and, for completed ones, by result: `["scheduled": 2, "completed/passed": 40]`.
    func jobCounts() async throws(StoreError) -> [String: Int] {
        try await read("job counts") { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, cached: "SELECT state, result, COUNT(*) AS n FROM job_instances WHERE original_stage_counter IS NULL GROUP BY state, result") {
                let state: String = row["state"]
                let result: String = row["result"]
                counts[state == "completed" ? "completed/\(result)" : state, default: 0] += row["n"] as Int
            }
            return counts
        }
    }
}
