import ArgumentParser
import Foundation

/// `relevo-bench`: starts a private broker, a scheduler and workers, measures dispatch latency,
/// stage gap, throughput and memory next to the machine's floor, prints a table and writes JSON.
@main
struct RelevoBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relevo-bench",
        abstract: "Measure Relevo's dispatch latency, stage gap, throughput and memory next to this machine's floor; with --faults, run the fault suite.")

    @Flag(help: "Small sizes, for CI (figures are printed, never asserted).")
    var quick = false
    @Option(help: "Where to write the figures as JSON.")
    var json = "bench-results.json"
    @Option(help: "The repository root (for scripts/broker).")
    var root = FileManager.default.currentDirectoryPath
    @Option(name: .customLong("poll-ms"), help: "How often the dispatch measurement polls an instance, in milliseconds.")
    var pollMilliseconds = 2

    @Flag(help: "Run the fault suite instead: inject faults at random moments into a running Relevo and check that no job is lost, stuck, doubled or overlapped.")
    var faults = false
    @Option(help: "Fault suite: how many rounds (one fault each; 8 rounds = each kind of fault once).")
    var rounds = 8
    @Option(help: "Fault suite: the seed of the random moments and targets (printed by every run; default: random).")
    var seed: UInt64?
    @Option(name: .customLong("lock-seconds"), help: "Fault suite: how long the database lock is held.")
    var lockSeconds = 60.0
    @Option(name: .customLong("freeze-seconds"), help: "Fault suite: how long a SIGSTOPped worker stays frozen.")
    var freezeSeconds = 12.0
    @Option(name: .customLong("instances-per-round"), help: "Fault suite: instances of the soak pipeline triggered per round.")
    var instancesPerRound = 3

    @Flag(help: "Measure horizontal scale instead: the throughput phase with 1, 2, 4 and 8 workers (each on a test host of its own when run as root), jobs/s and CPU per job.")
    var scale = false
    @Option(name: .customLong("scale-workers"), help: "Scale: the worker counts, comma-separated.")
    var scaleWorkers = "1,2,4,8"
    @Option(name: .customLong("scale-instances"), help: "Scale: instances of the ten-job pipeline per step.")
    var scaleInstances = 40

    func run() async throws {
        let binaries = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        if scale {
            let counts = scaleWorkers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
            guard !counts.isEmpty else { throw ValidationError("--scale-workers needs whole numbers, e.g. 1,2,4,8") }
            print(try await Scale(repository: URL(fileURLWithPath: root), binaries: binaries, workerCounts: counts,
                                  instances: max(scaleInstances, 1), slotsPerWorker: 2).run())
            return
        }
        if faults {
            let suite = FaultSuite(options: .init(rounds: max(rounds, 1), seed: seed ?? UInt64.random(in: 1...UInt64(UInt32.max)),
                                                  lockSeconds: lockSeconds, freezeSeconds: freezeSeconds,
                                                  instancesPerRound: max(instancesPerRound, 1)),
                                   repository: URL(fileURLWithPath: root), binaries: binaries)
            guard try await suite.run() else { throw ExitCode(1) }
            return
        }
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
