/// How much work each measurement does: the sizes, or a quick mode for CI.
struct BenchSizes: Sendable {
    var dispatchRuns: Int
    var warmUpRuns: Int
    var stageGapRuns: Int
    var throughputInstances: Int
    var manyPipelines: Int
    var floorRoundTrips: Int
    var floorMessages: Int
    var workers = 2
    var slotsPerWorker = 4

    static let full = BenchSizes(dispatchRuns: 200, warmUpRuns: 5, stageGapRuns: 10, throughputInstances: 200,
                                 manyPipelines: 1000, floorRoundTrips: 200, floorMessages: 4000)
    static let quick = BenchSizes(dispatchRuns: 20, warmUpRuns: 2, stageGapRuns: 2, throughputInstances: 20,
                                  manyPipelines: 100, floorRoundTrips: 50, floorMessages: 400)

    var dictionary: [String: Int] {
        ["dispatch_runs": dispatchRuns, "warm_up_runs": warmUpRuns, "stage_gap_runs": stageGapRuns,
         "throughput_instances": throughputInstances, "throughput_jobs": throughputInstances * BenchPipelines.wideJobs,
         "many_pipelines": manyPipelines, "floor_round_trips": floorRoundTrips, "floor_messages": floorMessages,
         "workers": workers, "slots_per_worker": slotsPerWorker]
    }
}
