import Foundation

/// `relevo-bench --scale`: the throughput phase with 1, 2, 4 and 8 workers, each worker on a
/// test host of its own (`scripts/testhosts`; loopback when network namespaces are not
/// available), the broker and the scheduler on the server address. For each step it prints jobs
/// per second and the CPU time the broker, the scheduler and the workers spent per job, from
/// which the README estimates what one scheduler and one broker can carry.
struct Scale {
    let repository: URL
    let binaries: URL
    let workerCounts: [Int]
    let instances: Int
    let slotsPerWorker: Int

    struct Step {
        var workers = 0
        var jobs = 0
        var jobsPerSecond = 0.0
        /// CPU milliseconds per job.
        var broker = 0.0, scheduler = 0.0, workerTotal = 0.0
    }

    func run() async throws -> String {
        Teardown.shared.installSignalHandlers()
        let most = workerCounts.max() ?? 1
        let hosts = Self.testHosts(count: most, repository: repository)
        defer { if hosts != nil { _ = Self.script(repository, "testhosts", ["down", "bench"]) } }
        let cluster = try BenchCluster(repository: repository, binaries: binaries)
        if let hosts { cluster.host = hosts.server }
        var steps: [Step] = []
        do {
            try BenchPipelines.benchFile.write(to: cluster.configDirectory.appendingPathComponent("bench.gocd.yaml"), atomically: true, encoding: .utf8)
            progress("starting a private broker and the scheduler on \(cluster.host)" + (hosts == nil ? " (no test hosts: everything on loopback)" : ""))
            try await cluster.startBroker()
            try await cluster.startScheduler()
            guard let scheduler = cluster.scheduler else { throw BenchError("start the scheduler", "it is gone") }
            var workers: [ChildProcess] = []
            for count in workerCounts.sorted() {
                while workers.count < count {
                    let index = workers.count + 1
                    workers.append(try await cluster.startWorker(name: "scale-\(index)", slots: slotsPerWorker,
                                                                 namespace: hosts?.namespaces[index - 1]))
                }
                progress("\(count) worker(s) × \(slotsPerWorker) slots: warm-up, then \(instances) instances × \(BenchPipelines.wideJobs) jobs")
                _ = try await Throughput.measure(cluster.api, instances: 2)
                let cpu = { () -> (Double, Double, Double) in
                    (cluster.broker?.pid.flatMap(ChildProcess.cpuSeconds) ?? 0, scheduler.cpuSeconds() ?? 0,
                     workers.compactMap { $0.cpuSeconds() }.reduce(0, +))
                }
                let before = cpu()
                let measured = try await Throughput.measure(cluster.api, instances: instances)
                let after = cpu()
                let perJob = { (delta: Double) in delta * 1000 / Double(max(measured.jobs, 1)) }
                steps.append(Step(workers: count, jobs: measured.jobs, jobsPerSecond: measured.jobsPerSecond,
                                  broker: perJob(after.0 - before.0), scheduler: perJob(after.1 - before.1),
                                  workerTotal: perJob(after.2 - before.2)))
            }
        } catch {
            for problem in await cluster.shutDown() { progress("could not clean up: \(problem)") }
            throw error
        }
        let problems = await cluster.shutDown()
        guard problems.isEmpty else { throw BenchError("clean up", problems.joined(separator: "; ")) }
        return table(steps, onTestHosts: hosts != nil)
    }

    private func table(_ steps: [Step], onTestHosts: Bool) -> String {
        var out = "horizontal scale (\(ProcessInfo.processInfo.activeProcessorCount) cores; workers on "
            + (onTestHosts ? "test hosts of their own" : "loopback") + "; \(slotsPerWorker) slots each; no-op jobs)\n"
        out += "  workers  jobs   jobs/s   CPU ms per job: broker  scheduler  workers  total\n"
        for step in steps {
            let total = step.broker + step.scheduler + step.workerTotal
            out += String(format: "  %7d  %4d  %7.1f                  %6.2f     %6.2f   %6.2f  %5.2f\n",
                          step.workers, step.jobs, step.jobsPerSecond, step.broker, step.scheduler, step.workerTotal, total)
        }
        return out
    }

    private func progress(_ message: String) {
        FileHandle.standardError.write(Data("==> \(message)\n".utf8))
    }

    /// Test hosts for the workers, or nil (not root, no `ip`): then everything runs on loopback.
    private static func testHosts(count: Int, repository: URL) -> (server: String, namespaces: [String])? {
        guard let output = script(repository, "testhosts", ["up", "bench", String(count)]) else { return nil }
        var server = ""
        var namespaces: [String] = []
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count == 2 else { continue }
            if parts[0] == "server" { server = parts[1] } else { namespaces.append(parts[0]) }
        }
        return server.isEmpty || namespaces.count < count ? nil : (server, namespaces)
    }

    /// Runs `scripts/NAME` and returns what it printed, or nil if it failed.
    private static func script(_ repository: URL, _ name: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = repository.appendingPathComponent("scripts/\(name)")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}
