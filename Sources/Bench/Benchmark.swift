import Foundation

/// One benchmark run, start to finish: the cluster up, each measurement in turn, the cluster
/// down on every path (a broker left running is a bug), the figures as a report.
struct Benchmark: Sendable {
    let sizes: BenchSizes
    let quick: Bool
    let repository: URL
    let binaries: URL
    let poll: Duration

    private struct Memory: Sendable {
        var schedulerIdle: Int?
        var schedulerAfterThroughput: Int?
        var schedulerMany: Int?
        var workerIdle: Int?
        var workerIdlePrivate: Int?
        var schedulerIdlePrivate: Int?
        var workerBusy: Int?
        var schedulerBusy: Int?
    }

    func run() async throws -> BenchReport {
        Teardown.shared.installSignalHandlers()
        let cluster = try BenchCluster(repository: repository, binaries: binaries)
        let measured: (DispatchLatency, StageGap, Throughput, Floor, Memory, [Double])
        do {
            measured = try await measure(cluster)
        } catch {
            progress("failed: \(error); stopping everything")
            for problem in await cluster.shutDown() { progress("could not clean up: \(problem)") }
            throw error
        }
        progress("stopping workers, scheduler and broker")
        let problems = await cluster.shutDown()
        guard problems.isEmpty else { throw BenchError("clean up", problems.joined(separator: "; ")) }
        return report(measured)
    }

    private func measure(_ cluster: BenchCluster) async throws -> (DispatchLatency, StageGap, Throughput, Floor, Memory, [Double]) {
        try BenchPipelines.benchFile.write(to: cluster.configDirectory.appendingPathComponent("bench.gocd.yaml"),
                                           atomically: true, encoding: .utf8)
        progress("starting a private broker (5–10 s)")
        try await cluster.startBroker()
        progress("starting the scheduler and \(sizes.workers) workers of \(sizes.slotsPerWorker) slots")
        try await cluster.startScheduler()
        var workers: [ChildProcess] = []
        for index in 1...sizes.workers {
            workers.append(try await cluster.startWorker(name: "bench-\(index)", slots: sizes.slotsPerWorker))
        }
        let api = cluster.api
        guard let scheduler = cluster.scheduler else { throw BenchError("start the scheduler", "it is gone") }

        var memory = Memory()
        try await Task.sleep(for: .seconds(1))
        memory.schedulerIdle = scheduler.residentBytes()
        memory.workerIdle = workers.compactMap { $0.residentBytes() }.max()
        memory.workerIdlePrivate = workers.compactMap { $0.privateBytes() }.max()
        memory.schedulerIdlePrivate = scheduler.privateBytes()

        progress("idle dispatch: \(sizes.dispatchRuns) sequential one-job runs (+\(sizes.warmUpRuns) warm-up)")
        let dispatch = try await DispatchLatency.measure(api, runs: sizes.dispatchRuns, warmUp: sizes.warmUpRuns, poll: poll)

        progress("stage gap: \(sizes.stageGapRuns) runs of \(BenchPipelines.stageCount) one-job stages")
        let gap = try await StageGap.measure(api, runs: sizes.stageGapRuns)

        progress("throughput: \(sizes.throughputInstances) instances × \(BenchPipelines.wideJobs) parallel jobs")
        let sampler = RSSSampler(processes: [scheduler] + workers)
        let brokerPid = cluster.broker?.pid
        let cpuBefore = cpu(scheduler: scheduler, workers: workers, brokerPid: brokerPid)
        let throughput: Throughput
        do {
            throughput = try await Throughput.measure(api, instances: sizes.throughputInstances)
        } catch {
            await sampler.stop()
            throw error
        }
        let peaks = await sampler.stop()
        let cpuAfter = cpu(scheduler: scheduler, workers: workers, brokerPid: brokerPid)
        var cpuUsed = zip(cpuBefore, cpuAfter).map { $1 - $0 }
        cpuUsed.append(throughput.seconds * Double(ProcessInfo.processInfo.activeProcessorCount))
        memory.schedulerBusy = peaks[scheduler.pid]
        memory.workerBusy = workers.compactMap { peaks[$0.pid] }.max()
        memory.schedulerAfterThroughput = scheduler.residentBytes()

        progress("floor: \(sizes.floorRoundTrips) bare round trips, \(sizes.floorMessages) pipelined messages")
        guard let brokerURL = cluster.broker?.url else { throw BenchError("measure the floor", "no broker") }
        let floor = try await Floor.measure(brokerURL: brokerURL, roundTrips: sizes.floorRoundTrips,
                                            pipelined: sizes.floorMessages, concurrency: sizes.workers * sizes.slotsPerWorker)

        progress("memory: scheduler restarted with \(sizes.manyPipelines) more pipelines in its config")
        await cluster.stopScheduler()
        try BenchPipelines.manyFile(count: sizes.manyPipelines)
            .write(to: cluster.configDirectory.appendingPathComponent("many.gocd.yaml"), atomically: true, encoding: .utf8)
        try await cluster.startScheduler()
        guard await cluster.api.knowsPipeline(BenchPipelines.fillerName(sizes.manyPipelines)),
              let restarted = cluster.scheduler else {
            throw BenchError("load \(sizes.manyPipelines) pipelines", "the scheduler does not list them:\n\(cluster.scheduler?.logTail() ?? "")")
        }
        // The peak over two seconds: one config reload period of the scheduler.
        var many = 0
        for _ in 0..<20 {
            many = max(many, restarted.residentBytes() ?? 0)
            try await Task.sleep(for: .milliseconds(100))
        }
        memory.schedulerMany = many
        return (dispatch, gap, throughput, floor, memory, cpuUsed)
    }

    private func report(_ measured: (DispatchLatency, StageGap, Throughput, Floor, Memory, [Double])) -> BenchReport {
        let (dispatch, gap, throughput, floor, memory, cpuUsed) = measured
        let build = binaries.lastPathComponent
        var report = BenchReport(
            generatedAt: Date(), quick: quick, build: build, machine: BenchReport.currentMachine(), sizes: sizes.dictionary,
            notes: [
                "latencies from the scheduler's own started_at/completed_at (ms precision) against the wall clock just before the schedule request",
                "floor: same AMQPClient, durable quorum queues, persistent 1 KiB messages with confirms, /bin/true spawned with ProcessRunner",
                "ratio = Relevo ÷ floor",
                "relevo-worker: \(Self.workerLinking(binaries))",
            ])
        let rtt = floor.roundTrip
        let dispatchSection = "idle dispatch (\(dispatch.toCompletion.count) sequential runs)"
        report.add(dispatchSection, "schedule → job recorded p50", "ms", relevo: dispatch.toScheduled.percentile(50))
        for p in [50.0, 90, 99] {
            report.add(dispatchSection, "schedule → task start p\(Int(p))", "ms", relevo: dispatch.toStart.percentile(p),
                       floor: rtt.percentile(p))
        }
        for p in [50.0, 90, 99] {
            report.add(dispatchSection, "schedule → completion p\(Int(p))", "ms", relevo: dispatch.toCompletion.percentile(p),
                       floor: rtt.percentile(p), target: p == 50 ? "≤ 10× floor" : nil)
        }
        report.add(dispatchSection, "job completion seen by polling p50", "ms", relevo: dispatch.seenByClient.percentile(50))
        report.add(dispatchSection, "POST schedule round trip p50", "ms", relevo: dispatch.scheduleRequest.percentile(50))
        report.add(dispatchSection, "GET health round trip p50", "ms", relevo: dispatch.healthRoundTrip.percentile(50))

        let gapSection = "stage gap (\(gap.toNextStarted.count) gaps)"
        report.add(gapSection, "stage done → next job recorded p50", "ms", relevo: gap.toNextScheduled.percentile(50))
        report.add(gapSection, "stage done → next task start p50", "ms", relevo: gap.toNextStarted.percentile(50),
                   floor: rtt.percentile(50), target: "< 20 ms")
        report.add(gapSection, "stage done → next task start p99", "ms", relevo: gap.toNextStarted.percentile(99),
                   floor: rtt.percentile(99))

        let throughputSection = "throughput (\(throughput.jobs) jobs, \(sizes.workers)×\(sizes.slotsPerWorker) slots)"
        report.add(throughputSection, "jobs per second", "jobs/s", relevo: throughput.jobsPerSecond, floor: floor.messagesPerSecond,
                   target: "≥ 0.5× floor")
        report.add(throughputSection, "scheduling \(sizes.throughputInstances) instances", "ms", relevo: throughput.schedulingSeconds * 1000)
        if cpuUsed.count == 4 {
            report.add(throughputSection, "CPU used: scheduler", "s", relevo: cpuUsed[0])
            report.add(throughputSection, "CPU used: workers", "s", relevo: cpuUsed[1])
            report.add(throughputSection, "CPU used: broker", "s", relevo: cpuUsed[2])
            report.add(throughputSection, "CPU available (cores × wall)", "s", relevo: cpuUsed[3])
        }

        let megabytes = { (bytes: Int?) in bytes.map { Double($0) / 1_048_576 } }
        let memorySection = "memory (VmRSS)"
        report.add(memorySection, "scheduler idle", "MB", relevo: megabytes(memory.schedulerIdle))
        report.add(memorySection, "  of which private (RssAnon)", "MB", relevo: megabytes(memory.schedulerIdlePrivate))
        report.add(memorySection, "scheduler peak during throughput", "MB", relevo: megabytes(memory.schedulerBusy))
        report.add(memorySection, "scheduler after throughput", "MB", relevo: megabytes(memory.schedulerAfterThroughput))
        report.add(memorySection, "scheduler with \(sizes.manyPipelines + 3) pipelines", "MB", relevo: megabytes(memory.schedulerMany),
                   target: "< 64 MB at 1,000")
        report.add(memorySection, "worker idle", "MB", relevo: megabytes(memory.workerIdle), target: "< 32 MB")
        report.add(memorySection, "  of which private (RssAnon)", "MB", relevo: megabytes(memory.workerIdlePrivate))
        report.add(memorySection, "worker peak during throughput", "MB", relevo: megabytes(memory.workerBusy))

        let floorSection = "floor alone"
        report.add(floorSection, "spawn /bin/true p50", "ms", relevo: nil, floor: floor.spawn.percentile(50))
        report.add(floorSection, "publish → consume → spawn → reply p50", "ms", relevo: nil, floor: rtt.percentile(50))
        report.add(floorSection, "publish → consume → spawn → reply p99", "ms", relevo: nil, floor: rtt.percentile(99))
        report.add(floorSection, "pipelined, prefetch \(sizes.workers * sizes.slotsPerWorker) (\(floor.messages) msgs)", "msg/s",
                   relevo: nil, floor: floor.messagesPerSecond)
        return report
    }

    /// How the worker measured here was linked: `scripts/build-release` links the Swift runtime
    /// into it, a plain `swift build` does not (its memory figures differ by about 1.5 MB).
    static func workerLinking(_ binaries: URL) -> String {
        guard let image = try? Data(contentsOf: binaries.appendingPathComponent("relevo-worker"), options: .alwaysMapped) else {
            return "not found"
        }
        return image.range(of: Data("libswiftCore.so".utf8)) == nil
            ? "Swift runtime linked in (--static-swift-stdlib, scripts/build-release)"
            : "Swift runtime in shared libraries (plain swift build)"
    }

    /// CPU seconds so far of the scheduler, all workers together and the broker.
    private func cpu(scheduler: ChildProcess, workers: [ChildProcess], brokerPid: Int32?) -> [Double] {
        [scheduler.cpuSeconds() ?? 0, workers.compactMap { $0.cpuSeconds() }.reduce(0, +),
         brokerPid.flatMap(ChildProcess.cpuSeconds) ?? 0]
    }

    private func progress(_ message: String) {
        FileHandle.standardError.write(Data("==> \(message)\n".utf8))
    }
}

/// Samples the resident memory of some processes every 50 ms and keeps each one's peak.
final class RSSSampler: Sendable {
    private let task: Task<[Int32: Int], Never>

    init(processes: [ChildProcess]) {
        task = Task {
            var peaks: [Int32: Int] = [:]
            while !Task.isCancelled {
                for process in processes {
                    if let bytes = process.residentBytes() { peaks[process.pid] = max(peaks[process.pid] ?? 0, bytes) }
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return peaks
        }
    }

    /// Stops sampling; returns each process's peak in bytes, by pid.
    @discardableResult
    func stop() async -> [Int32: Int] {
        task.cancel()
        return await task.value
    }
}
