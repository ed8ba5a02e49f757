public import Foundation

/// A timer's schedule in GoCD's syntax, which is Quartz's cron: six or seven fields,
/// `seconds minutes hours day-of-month month day-of-week [year]`, e.g. `0 15 10 ? * MON-FRI`
/// (10:15:00 on weekdays). Each field takes `*`, a number, a range `a-b`, a step `*/n`, `a/n` or
/// `a-b/n`, or a list of those; months take `JAN`–`DEC` and days of the week `SUN`–`SAT` (or
/// 1–7, Sunday first, as in Quartz). One of day-of-month and day-of-week must be `?` (no
/// preference), as Quartz requires; `*` in both is taken as every day. Quartz's `L`, `W` and
/// `#` are refused with a message that says so. Times are in the scheduler's time zone.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    /// The text it was read from.
    public let description: String
    let seconds: Set<Int>
    let minutes: Set<Int>
    let hours: Set<Int>
    /// nil: `?` (the other day field decides).
    let daysOfMonth: Set<Int>?
    let months: Set<Int>
    /// 1 = Sunday … 7 = Saturday, as Foundation's `weekday`; nil: `?`.
    let daysOfWeek: Set<Int>?
    /// nil: every year.
    let years: Set<Int>?

    /// Why a schedule cannot be read, in words for the config error.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws(Invalid) {
        let fields = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard fields.count == 6 || fields.count == 7 else {
            throw Invalid(description: "a timer spec has 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), "
                              + "found \(fields.count) in '\(text)'")
        }
        description = text
        seconds = try Self.field(fields[0], "seconds", 0...59)
        minutes = try Self.field(fields[1], "minutes", 0...59)
        hours = try Self.field(fields[2], "hours", 0...23)
        let dayOfMonth = fields[3], dayOfWeek = fields[5]
        months = try Self.field(fields[4], "month", 1...12, names: Self.monthNames)
        if dayOfMonth == "?" && dayOfWeek == "?" {
            throw Invalid(description: "only one of day-of-month and day-of-week may be '?' in '\(text)'")
        }
        if dayOfMonth != "?" && dayOfWeek != "?" && !(dayOfMonth == "*" && dayOfWeek == "*") {
            throw Invalid(description: "give '?' for day-of-month or for day-of-week in '\(text)' (Quartz cannot combine them)")
        }
        daysOfMonth = dayOfMonth == "?" ? nil : try Self.field(dayOfMonth, "day-of-month", 1...31)
        daysOfWeek = dayOfWeek == "?" || dayOfWeek == "*" && dayOfMonth == "*" ? nil : try Self.field(dayOfWeek, "day-of-week", 1...7, names: Self.dayNames)
        years = fields.count == 7 && fields[6] != "*" ? try Self.field(fields[6], "year", 1970...2199) : nil
    }

    /// The first time strictly after `date` that the schedule names, in `timeZone`; nil if there
    /// is none within the next five years (a schedule for 30 February, a year gone by).
    public func nextFire(after date: Date, in timeZone: TimeZone = .current) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var candidate = calendar.date(bySetting: .nanosecond, value: 0, of: date.addingTimeInterval(1)) ?? date.addingTimeInterval(1)
        candidate = Date(timeIntervalSince1970: (candidate.timeIntervalSince1970).rounded(.down))
        let limit = date.addingTimeInterval(5 * 366 * 86_400)
        while candidate <= limit {
            let parts = calendar.dateComponents([.year, .month, .day, .weekday, .hour, .minute, .second], from: candidate)
            guard let year = parts.year, let month = parts.month, let day = parts.day, let weekday = parts.weekday,
                  let hour = parts.hour, let minute = parts.minute, let second = parts.second else { return nil }
            if let years, !years.contains(year) {
                guard let next = calendar.date(from: DateComponents(year: year + 1, month: 1, day: 1)) else { return nil }
                candidate = next
                continue
            }
            if !months.contains(month) {
                guard let next = calendar.date(from: DateComponents(year: year, month: month + 1, day: 1)) else { return nil }
                candidate = next
                continue
            }
            let dayMatches = (daysOfMonth?.contains(day) ?? true) && (daysOfWeek?.contains(weekday) ?? true)
            if !dayMatches {
                guard let next = calendar.date(from: DateComponents(year: year, month: month, day: day + 1)) else { return nil }
                candidate = next
                continue
            }
            if !hours.contains(hour) {
                guard let next = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour + 1)) else { return nil }
                candidate = next
                continue
            }
            if !minutes.contains(minute) {
                candidate = candidate.addingTimeInterval(TimeInterval(60 - second))
                continue
            }
            if !seconds.contains(second) {
                candidate = candidate.addingTimeInterval(1)
                continue
            }
            return candidate
        }
        return nil
    }

    private static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    private static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    private static func field(_ text: String, _ name: String, _ bounds: ClosedRange<Int>, names: [String] = []) throws(Invalid) -> Set<Int> {
        if let special = text.first(where: { "LW#".contains($0) }) {
            throw Invalid(description: "'\(special)' in the \(name) field '\(text)' is Quartz syntax Relevo does not support")
        }
        var values: Set<Int> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard pieces.count <= 2 else { throw Invalid(description: "'\(part)' in the \(name) field has more than one '/'") }
            var step = 1
            if pieces.count == 2 {
                guard let value = Int(pieces[1]), value > 0 else {
                    throw Invalid(description: "the step '\(pieces[1])' in the \(name) field must be a whole number above 0")
                }
                step = value
            }
            let range: ClosedRange<Int>
            let base = pieces[0]
            if base == "*" {
                range = bounds
            } else if let dash = base.firstIndex(of: "-") {
                let low = try value(String(base[..<dash]), name, bounds, names)
                let high = try value(String(base[base.index(after: dash)...]), name, bounds, names)
                guard low <= high else { throw Invalid(description: "the range '\(base)' in the \(name) field goes backwards") }
                range = low...high
            } else {
                let start = try value(base, name, bounds, names)
                range = start...(pieces.count == 2 ? bounds.upperBound : start)
            }
            values.formUnion(stride(from: range.lowerBound, through: range.upperBound, by: step))
        }
        return values
    }

    private static func value(_ text: String, _ name: String, _ bounds: ClosedRange<Int>, _ names: [String]) throws(Invalid) -> Int {
        if let index = names.firstIndex(of: text.uppercased()) { return bounds.lowerBound + index }
        guard let number = Int(text), bounds.contains(number) else {
            throw Invalid(description: "'\(text)' in the \(name) field is not a value from \(bounds.lowerBound) to \(bounds.upperBound)"
                              + (names.isEmpty ? "" : " or \(names.first!)–\(names.last!)"))
        }
        return number
    }
}

extension CronSchedule: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A pipeline's timer (GoCD's `timer`): when it is triggered, and whether only if a material has
/// changed since its newest instance (`only_on_changes`).
public struct PipelineTimer: Sendable, Equatable, Codable {
    public var schedule: CronSchedule
    public var onlyOnChanges: Bool

    public init(schedule: CronSchedule, onlyOnChanges: Bool = false) {
        self.schedule = schedule
        self.onlyOnChanges = onlyOnChanges
    }
}
