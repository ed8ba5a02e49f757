import Foundation

/// Throughput: many instances of a pipeline of ten parallel no-op jobs, all scheduled at once,
/// across the workers; jobs per second from the first schedule request to the last job's
/// recorded completion. Every instance must pass and every job must have completed exactly once
/// (attempt 1: never handed out twice).
struct Throughput: Sendable {
    var jobs = 0
    var seconds = 0.0
    var schedulingSeconds = 0.0
    var jobsPerAgent: [String: Int] = [:]
    var jobsPerSecond: Double { seconds > 0 ? Double(jobs) / seconds : 0 }

    static func measure(_ api: SchedulerAPI, instances: Int) async throws -> Throughput {
        let wall = Date()
        let start = ContinuousClock.now
        var counters: [Int] = []
        for _ in 0..<instances {
            counters.append(try await api.schedule(BenchPipelines.wide, revisions: BenchPipelines.revisions))
        }
        var result = Throughput()
        result.schedulingSeconds = (ContinuousClock.now - start).milliseconds / 1000
        guard Set(counters).count == instances else {
            throw BenchError("schedule \(instances) instances of \(BenchPipelines.wide)", "counters repeat: \(counters)")
        }
        // The benchmark client shares the machine's cores with what it measures: while jobs run
        // it only polls the last instance, every 100 ms; each instance is read and checked once
        // everything has ended (the figure comes from the recorded completion times, not from
        // when the client noticed).
        if let last = counters.last {
            _ = try await api.waitForCompletion(BenchPipelines.wide, last, interval: .milliseconds(100), timeout: .seconds(600))
        }
        var lastCompletion = wall
        for counter in counters {
            let instance = try await api.waitForCompletion(BenchPipelines.wide, counter, interval: .milliseconds(20), timeout: .seconds(600))
            let jobs = instance.jobs
            let names = Set(jobs.map(\.name))
            guard instance.state == "passed", jobs.count == BenchPipelines.wideJobs, names.count == BenchPipelines.wideJobs,
                  jobs.allSatisfy({ $0.state == "completed" && $0.result == "passed" && $0.attempt == 1 }) else {
                throw BenchError("verify \(BenchPipelines.wide)/\(counter)",
                                 "state \(instance.state); jobs: " + jobs.map { "\($0.name) \($0.state)/\($0.result) attempt \($0.attempt)" }.joined(separator: ", "))
            }
            for job in jobs {
                if let completed = job.completedAt, completed > lastCompletion { lastCompletion = completed }
                result.jobsPerAgent[job.agentUuid ?? "?", default: 0] += 1
            }
            result.jobs += jobs.count
        }
        result.seconds = lastCompletion.timeIntervalSince(wall)
        return result
    }
}
