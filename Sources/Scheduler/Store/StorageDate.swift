import Foundation
import Glibc

/// Dates as the store keeps them: GRDB's text format, `yyyy-MM-dd HH:mm:ss.SSS` in UTC, written
/// without a `DateFormatter` (GRDB's own goes through ICU, several microseconds a date; the
/// scheduler writes a dozen dates per job). GRDB reads the text back as usual.
enum StorageDate {
    /// `date` as GRDB would store it (to the nearest millisecond, as its formatter does).
    static func text(_ date: Date) -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        var seconds = time_t((milliseconds / 1000).rounded(.down))
        let fraction = Int(milliseconds - Double(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(23)
        func append(_ value: Int, digits: Int) {
            var divisor = 1
            for _ in 1..<digits { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        append(Int(parts.tm_year) + 1900, digits: 4)
        bytes.append(UInt8(ascii: "-"))
        append(Int(parts.tm_mon) + 1, digits: 2)
        bytes.append(UInt8(ascii: "-"))
        append(Int(parts.tm_mday), digits: 2)
        bytes.append(UInt8(ascii: " "))
        append(Int(parts.tm_hour), digits: 2)
        bytes.append(UInt8(ascii: ":"))
        append(Int(parts.tm_min), digits: 2)
        bytes.append(UInt8(ascii: ":"))
        append(Int(parts.tm_sec), digits: 2)
        bytes.append(UInt8(ascii: "."))
        append(fraction, digits: 3)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// As ``text(_:)``; nil stays nil (SQL NULL).
    static func text(_ date: Date?) -> String? {
        date.map { text($0) }
    }
}
