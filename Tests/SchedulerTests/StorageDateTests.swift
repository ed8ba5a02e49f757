import Foundation
import GRDB
import Testing

@testable import Scheduler

/// The store writes dates without GRDB's formatter: the text must be exactly GRDB's, so that
/// old and new rows compare and sort alike and GRDB reads them back.
struct StorageDateTests {
    @Test func textIsGRDBsOwnForManyDates() throws {
        var dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 0.0009), Date(timeIntervalSince1970: 1_795_760_635.1797),
                     Date(timeIntervalSince1970: 951_782_400.999),  // 2000-02-29 23:59:59.999
                     Date(timeIntervalSince1970: 4_102_444_799.5)]  // 2099-12-31 23:59:59.5
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: 0..<4_102_444_800, using: &generator)))
        }
        for date in dates {
            guard case .string(let expected) = date.databaseValue.storage else {
                Issue.record("GRDB did not store \(date) as text")
                continue
            }
            #expect(StorageDate.text(date) == expected, "\(date.timeIntervalSince1970)")
        }
        #expect(StorageDate.text(nil as Date?) == nil)
    }

    @Test func grdbReadsTheTextBackToTheMillisecond() throws {
        let queue = try DatabaseQueue()
        let date = Date(timeIntervalSince1970: 1_795_760_635.1797)
        let (ours, grdbs) = try queue.read { db in
            (try Date.fetchOne(db, sql: "SELECT ?", arguments: [StorageDate.text(date)]),
             try Date.fetchOne(db, sql: "SELECT ?", arguments: [date]))
        }
        #expect(ours != nil)
        #expect(ours == grdbs)
    }
}
