import Foundation
import Shared
import Testing

@Suite struct CronScheduleTests {
    private let utc = TimeZone(identifier: "UTC")!

    private func date(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text)!
    }

    private func next(_ spec: String, after: String) throws -> Date? {
        try CronSchedule(parsing: spec).nextFire(after: date(after), in: utc)
    }

    @Test func weekdaysAtAQuarterPastTen() throws {
        // 2026-12-04 is a Friday: the next weekday at 10:15 is Monday the 7th.
        #expect(try next("0 15 10 ? * MON-FRI", after: "2026-12-04T10:15:00Z") == date("2026-12-07T10:15:00Z"))
        #expect(try next("0 15 10 ? * MON-FRI", after: "2026-12-07T09:00:00Z") == date("2026-12-07T10:15:00Z"))
    }

    @Test func stepsRangesListsAndNames() throws {
        #expect(try next("*/5 * * * * ?", after: "2026-12-07T12:00:03Z") == date("2026-12-07T12:00:05Z"))
        #expect(try next("0 0 12 1 * ?", after: "2026-12-15T00:00:00Z") == date("2027-01-01T12:00:00Z"))
        #expect(try next("30 10-20/5 3 ? * *", after: "2026-12-07T03:16:00Z") == date("2026-12-07T03:20:30Z"))
        #expect(try next("0 0 6 ? JUN,DEC SUN", after: "2026-12-07T00:00:00Z") == date("2026-12-13T06:00:00Z"))
        // Quartz numbers the days of the week from Sunday = 1.
        #expect(try next("0 0 9 ? * 1", after: "2026-12-07T00:00:00Z") == date("2026-12-13T09:00:00Z"))
        #expect(try next("0 0 0 * * * 2027", after: "2026-12-07T00:00:00Z") == date("2027-01-01T00:00:00Z"))
    }

    @Test func aScheduleThatNeverComesHasNoNextTime() throws {
        #expect(try next("0 0 0 31 2 ?", after: "2026-12-07T00:00:00Z") == nil)
        #expect(try next("0 0 0 * * * 2020", after: "2026-12-07T00:00:00Z") == nil)
    }

    @Test(arguments: [
        ("0 15 10 * *", "6 or 7 fields"),
        ("0 15 10 ? * ?", "only one of day-of-month and day-of-week"),
        ("0 15 10 1 * MON", "give '?'"),
        ("0 15 10 L * ?", "'L' in the day-of-month field"),
        ("0 15 10 ? * 6#3", "'#' in the day-of-week field"),
        ("0 61 10 ? * *", "'61' in the minutes field is not a value from 0 to 59"),
        ("0 0 20-10 ? * *", "goes backwards"),
        ("0 0 10 ? FOO *", "'FOO' in the month field"),
    ])
    func badSpecsSayWhatIsWrong(spec: String, message: String) {
        #expect {
            _ = try CronSchedule(parsing: spec)
        } throws: { error in
            (error as? CronSchedule.Invalid)?.description.contains(message) == true
        }
    }

    @Test func aPipelineTimerIsLoadedAndABadOneIsAnErrorAtItsSpec() {
        let good = ConfigLoader().load(files: [ConfigFile(name: "t.gocd.yaml", text: """
        format_version: 10
        pipelines:
          nightly:
            timer:
              spec: "0 0 22 ? * MON-FRI"
              only_on_changes: yes
            materials:
              src: {git: "https://example.com/a.git"}
            stages:
              - build: {jobs: {build: {tasks: [{exec: {command: make}}]}}}
        """)])
        #expect(good.errors.map(\.description) == [])
        #expect(good.pipeline(named: "nightly")?.timer == PipelineTimer(schedule: try! CronSchedule(parsing: "0 0 22 ? * MON-FRI"), onlyOnChanges: true))
        let bad = ConfigLoader().load(files: [ConfigFile(name: "t.gocd.yaml", text: """
        format_version: 10
        pipelines:
          nightly:
            timer:
              spec: "0 0 22 * *"
            materials:
              src: {git: "https://example.com/a.git"}
            stages:
              - build: {jobs: {build: {tasks: [{exec: {command: make}}]}}}
        """)])
        #expect(bad.errors.map(\.description).contains { $0.hasPrefix("t.gocd.yaml:5:") && $0.contains("6 or 7 fields") }, "\(bad.errors.map(\.description))")
    }
}
