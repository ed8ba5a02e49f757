import Foundation
import Shared

/// How tasks, durations and command lines are written on a job's console.
enum ConsoleFormat {
    /// `mvn -B 'clean install'`: arguments that are empty or contain blanks or quotes are quoted,
    /// so the line shows the argument vector faithfully.
    static func commandLine(_ command: String, _ arguments: [String]) -> String {
        ([command] + arguments).map(quoted).joined(separator: " ")
    }

    /// A task as one line: its command line, or what a fetch task fetches and from where.
    static func describe(_ task: TaskDefinition) -> String {
        let (command, arguments) = commandAndArguments(task)
        guard case .fetch(let fetch) = task else { return commandLine(command, arguments) }
        let origin = (fetch.pipelinePath + [fetch.stage, fetch.job]).joined(separator: "/")
        let destination = fetch.destination.isEmpty ? "." : fetch.destination
        return "fetch \(fetch.isFile ? "file" : "directory") \(fetch.source) from \(origin) into \(destination)"
    }

    /// The command and arguments recorded for a task; `fetch` with origin, source and
    /// destination for a fetch task.
    static func commandAndArguments(_ task: TaskDefinition) -> (String, [String]) {
        switch task {
        case .exec(let exec):
            return (exec.command, exec.arguments)
        case .fetch(let fetch):
            let origin = (fetch.pipelinePath + [fetch.stage, fetch.job]).joined(separator: "/")
            return ("fetch", [origin, fetch.source, fetch.destination])
        }
    }

    /// Whole milliseconds.
    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// `10 minutes`, `1 minute`, `2 seconds`, `300 milliseconds`.
    static func describe(_ duration: Duration) -> String {
        let milliseconds = milliseconds(duration)
        func plural(_ count: Int64, _ unit: String) -> String { "\(count) \(unit)\(count == 1 ? "" : "s")" }
        if milliseconds >= 60_000, milliseconds % 60_000 == 0 { return plural(milliseconds / 60_000, "minute") }
        if milliseconds % 1000 == 0 { return plural(milliseconds / 1000, "second") }
        return plural(milliseconds, "millisecond")
    }

    /// `1.5 MiB`, `320 B`: a size as people read it.
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    private static func quoted(_ argument: String) -> String {
        let needsQuotes = argument.isEmpty || argument.contains { $0.isWhitespace || $0 == "'" || $0 == "\"" }
        guard needsQuotes else { return argument }
        return "'" + argument.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
