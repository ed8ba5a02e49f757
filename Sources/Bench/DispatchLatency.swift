import Foundation

/// Idle dispatch latency: one-job pipelines scheduled one after the other on an idle cluster.
/// Times are taken from the scheduler's own records (`started_at`, `completed_at`, milliseconds)
/// against the wall clock just before the schedule request — one machine, one clock — and, for
/// the job's completion, also as the client first sees it by polling.
struct DispatchLatency: Sendable {
    var toScheduled = Samples()
    var toStart = Samples()
    var toCompletion = Samples()
    var seenByClient = Samples()
    var scheduleRequest = Samples()
    var healthRoundTrip = Samples()

    static func measure(_ api: SchedulerAPI, runs: Int, warmUp: Int, poll: Duration) async throws -> DispatchLatency {
        var result = DispatchLatency()
        for _ in 0..<200 {
            let start = ContinuousClock.now
            guard await api.isHealthy() else { throw BenchError("measure the API round trip", "health did not answer 200") }
            result.healthRoundTrip.add((ContinuousClock.now - start).milliseconds)
        }
        for index in 0..<(warmUp + runs) {
            let wall = Date()
            let start = ContinuousClock.now
            let counter = try await api.schedule(BenchPipelines.idle, revisions: BenchPipelines.revisions)
            let posted = ContinuousClock.now
            var seen: ContinuousClock.Instant?
            let instance = try await api.waitForCompletion(BenchPipelines.idle, counter, interval: poll) { instance in
                if seen == nil, instance.jobs.first?.state == "completed" { seen = ContinuousClock.now }
            }
            guard instance.state == "passed", let job = instance.jobs.first, let started = job.startedAt,
                  let completed = job.completedAt else {
                throw BenchError("run \(BenchPipelines.idle)/\(counter)", "ended \(instance.state), jobs: \(instance.jobs)")
            }
            guard index >= warmUp else { continue }
            result.scheduleRequest.add((posted - start).milliseconds)
            result.toScheduled.add(job.scheduledAt.timeIntervalSince(wall) * 1000)
            result.toStart.add(started.timeIntervalSince(wall) * 1000)
            result.toCompletion.add(completed.timeIntervalSince(wall) * 1000)
            result.seenByClient.add(((seen ?? ContinuousClock.now) - start).milliseconds)
        }
        return result
    }
}
