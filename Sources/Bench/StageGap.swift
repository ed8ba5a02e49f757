import Foundation

/// Stage gap: in a pipeline of ten one-job stages, the time from one stage's job completing to
/// the next stage's job being scheduled and started, from the scheduler's own timestamps.
struct StageGap: Sendable {
    var toNextScheduled = Samples()
    var toNextStarted = Samples()

    static func measure(_ api: SchedulerAPI, runs: Int) async throws -> StageGap {
        var result = StageGap()
        for _ in 0..<runs {
            let counter = try await api.schedule(BenchPipelines.stages, revisions: BenchPipelines.revisions)
            let instance = try await api.waitForCompletion(BenchPipelines.stages, counter, interval: .milliseconds(5))
            guard instance.state == "passed", instance.stages.count == BenchPipelines.stageCount else {
                throw BenchError("run \(BenchPipelines.stages)/\(counter)", "ended \(instance.state) with \(instance.stages.count) stages")
            }
            for (previous, next) in zip(instance.stages, instance.stages.dropFirst()) {
                guard let done = previous.jobs.compactMap(\.completedAt).max(), let job = next.jobs.first,
                      let started = job.startedAt else {
                    throw BenchError("read \(BenchPipelines.stages)/\(counter)", "stage \(next.name) lacks timestamps")
                }
                result.toNextScheduled.add(job.scheduledAt.timeIntervalSince(done) * 1000)
                result.toNextStarted.add(started.timeIntervalSince(done) * 1000)
            }
        }
        return result
    }
}
