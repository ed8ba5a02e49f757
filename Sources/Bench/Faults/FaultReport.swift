import Foundation

/// What the fault suite found once every round was over.
struct FaultReport {
    var instances = 0
    var jobs = 0
    var attempts = 0
    /// Instances that never ended, with their jobs' states.
    var stuck: [String] = []
    /// Instances that ended other than passed (no fault may fail a pipeline: it runs again).
    var failed: [String] = []
    /// Jobs of ended instances without a final result.
    var withoutResult: [String] = []
    /// Jobs of passed instances whose tasks never ran to their end (per the journal).
    var neverRan: [String] = []
    /// Jobs whose tasks ran to their end more than once (allowed: delivery is at least once).
    var ranTwice = 0
    /// `serial:` tasks that found another one running.
    var overlaps = 0
    /// Fetched artifacts whose checksum did not match.
    var checksumMismatches = 0
    /// Worker events dead-lettered (a conflicting second result would be one).
    var conflicts = 0
    /// What the scheduler read from `relevo.dead`, by kind and outcome.
    var deadLetters: [String: Int] = [:]
    /// Messages left in Relevo's queues.
    var queues: [String: Int] = [:]

    var messagesLeft: Int { queues.values.reduce(0, +) }

    var passed: Bool {
        stuck.isEmpty && failed.isEmpty && withoutResult.isEmpty && neverRan.isEmpty && overlaps == 0
            && checksumMismatches == 0 && conflicts == 0 && messagesLeft == 0
    }

    func text(records: [FaultSuite.Record], elapsed: Duration, seed: UInt64) -> String {
        var out = "fault suite summary (seed \(seed), \(records.count) rounds, \(String(format: "%.0f", elapsed.seconds)) s)\n"
        out += "  fault              count  victims  recovery p50   max      (worker faults: the hit jobs running again; others: first job started after the return)\n"
        for fault in Fault.allCases {
            let hits = records.filter { $0.fault == fault }
            guard !hits.isEmpty else { continue }
            let times = hits.compactMap(\.recovery).map(\.seconds).sorted()
            let p50 = times.isEmpty ? "—" : String(format: "%.2f s", times[times.count / 2])
            let max = times.last.map { String(format: "%.2f s", $0) } ?? "—"
            out += "  \(fault.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)) \(String(hits.count).leftPadded(5))  "
                + "\(String(hits.map(\.victims).reduce(0, +)).leftPadded(7))  \(p50.leftPadded(12))  \(max.leftPadded(8))\n"
        }
        out += "  instances \(instances), jobs \(jobs), attempts \(attempts) (\(attempts - jobs) extra), jobs whose tasks ran to the end twice \(ranTwice)\n"
        out += check("instances stuck", stuck.count, stuck)
        out += check("instances not passed", failed.count, failed)
        out += check("jobs without exactly one final result", withoutResult.count + conflicts,
                     withoutResult + (conflicts > 0 ? ["\(conflicts) worker events dead-lettered (conflicting results)"] : []))
        out += check("jobs whose tasks never ran to the end", neverRan.count, neverRan)
        out += check("serial overlaps", overlaps, [])
        out += check("fetched artifacts with a wrong checksum", checksumMismatches, [])
        out += check("messages left in queues", messagesLeft, queues.filter { $0.value > 0 }.map { "\($0.key): \($0.value)" })
        if !deadLetters.isEmpty {
            out += "  dead letters read (each turned into a new attempt or reported):\n"
            for (kind, count) in deadLetters.sorted(by: { $0.key < $1.key }) { out += "    \(count) × \(kind)\n" }
        }
        out += passed ? "fault suite: PASSED\n" : "fault suite: FAILED\n"
        return out
    }

    private func check(_ what: String, _ count: Int, _ details: [String]) -> String {
        var line = "  \(count == 0 ? "ok  " : "FAIL") \(what): \(count)\n"
        for detail in details.prefix(10) { line += "         \(detail)\n" }
        return line
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
