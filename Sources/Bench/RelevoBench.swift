import ArgumentParser
import Foundation

/// `relevo-bench`: starts a private broker, a scheduler and workers, measures dispatch latency,
/// stage gap, throughput and memory next to the machine's floor, prints a table and writes JSON.
@main
struct RelevoBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relevo-bench",
        abstract: "Measure Relevo's dispatch latency, stage gap, throughput and memory next to this machine's floor.")

    @Flag(help: "Small sizes, for CI (figures are printed, never asserted).")
    var quick = false
    @Option(help: "Where to write the figures as JSON.")
    var json = "bench-results.json"
    @Option(help: "The repository root (for scripts/broker).")
    var root = FileManager.default.currentDirectoryPath
    @Option(name: .customLong("poll-ms"), help: "How often the dispatch measurement polls an instance, in milliseconds.")
    var pollMilliseconds = 2

    func run() async throws {
        let binaries = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let benchmark = Benchmark(sizes: quick ? .quick : .full, quick: quick,
                                  repository: URL(fileURLWithPath: root), binaries: binaries,
                                  poll: .milliseconds(max(pollMilliseconds, 1)))
        let started = ContinuousClock.now
        let report = try await benchmark.run()
        print(report.table)
        print("")
        for note in report.notes { print("note: \(note)") }
        let output = URL(fileURLWithPath: json, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        try report.writeJSON(to: output)
        print("\nwritten to \(output.path); took \(String(format: "%.1f", (ContinuousClock.now - started).milliseconds / 1000)) s")
    }
}
