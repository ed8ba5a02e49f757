import Foundation
import Testing

/// A worker that cannot take work (disabled, stopping) stops consuming instead of handing
/// deliveries back in a loop: each hand-back counts towards the queue's delivery limit, and a
/// job past it is dead-lettered and its pipeline never finishes.
@Suite(.serialized, .timeLimit(.minutes(3))) struct HandBackTests {
    /// One stage: `short` (1 s) and `long` (6 s) start first on a 2-slot worker; four quick jobs
    /// wait behind them in the same queue.
    static let config = """
    format_version: 10
    pipelines:
      busy:
        materials:
          src: {git: "file:///nonexistent", auto_update: false}
        stages:
          - run:
              fetch_materials: false
              jobs:
                short: {tasks: [{exec: {command: /bin/sleep, arguments: ["1"]}}]}
                long: {tasks: [{exec: {command: /bin/sleep, arguments: ["6"]}}]}
                q1: {tasks: [{exec: {command: /bin/true}}]}
                q2: {tasks: [{exec: {command: /bin/true}}]}
                q3: {tasks: [{exec: {command: /bin/true}}]}
                q4: {tasks: [{exec: {command: /bin/true}}]}
    """
    static let pinned = RelevoCluster.pinnedSchedule

    /// Starts `busy/1` on a 2-slot worker `w1` and waits until `short` and `long` are building.
    static func startBusy(_ cluster: RelevoCluster) async throws {
        try cluster.writeConfig("busy.gocd.yaml", config)
        try await cluster.startScheduler()
        try await cluster.startWorker(.init(name: "w1", slots: 2))
        #expect(try await cluster.api.post("/go/api/pipelines/busy/schedule", body: pinned).status == 202)
        // Under load `short` may be over before `long` starts: either way both slots were used.
        try await eventually(60, "long building, short building or done") {
            guard let run = try await cluster.api.instance("busy", 1) else { return false }
            let state = Dictionary(run.jobs(ofStage: "run").compactMap { job in (job["name"] as? String).map { ($0, job["state"] as? String ?? "") } },
                                   uniquingKeysWith: { first, _ in first })
            return state["long"] == "building" && (state["short"] == "building" || state["short"] == "completed")
        }
    }

    /// Nothing was dead-lettered (the scheduler reads `relevo.dead` and lists what it read).
    static func expectNoDeadLetters(_ cluster: RelevoCluster, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let letters = try await cluster.api.deadLetters()
        #expect(letters.isEmpty, "\(letters)", sourceLocation: sourceLocation)
    }

    @Test func disablingABusyAgentLosesNoQueuedJob() async throws {
        try await RelevoCluster.with { cluster in
            try await Self.startBusy(cluster)
            let w1 = try #require(try await cluster.agentUUID("w1"))
            let disable = try await cluster.api.request("PATCH", "/go/api/agents/\(w1)", body: #"{"agent_config_state": "Disabled"}"#)
            #expect(disable.status == 200)
            // `short` ends after 1 s and frees a slot while `long` runs on: the queued jobs must
            // stay queued (not handed to w1 and back until dead-lettered).
            try await eventually(30, "long completed") {
                let jobs = try await cluster.api.instance("busy", 1)?.jobs(ofStage: "run") ?? []
                return jobs.first { $0["name"] as? String == "long" }?["state"] as? String == "completed"
            }
            try await Self.expectNoDeadLetters(cluster)
            // None lost: each waits in the queue (or ran, if it was taken before the disable arrived).
            let waiting = try await cluster.api.instance("busy", 1)?.jobs(ofStage: "run").filter { ($0["name"] as? String ?? "").hasPrefix("q") } ?? []
            #expect(waiting.count == 4 && waiting.allSatisfy { $0["state"] as? String == "scheduled" || $0["result"] as? String == "passed" },
                    "\(waiting)")
            _ = try await cluster.api.request("PATCH", "/go/api/agents/\(w1)", body: #"{"agent_config_state": "Enabled"}"#)
            let done = try await cluster.api.waitFor("busy", 1, states: ["passed", "failed"], seconds: 60)
            #expect(done["state"] as? String == "passed", "\(done)")
            try await Self.expectNoDeadLetters(cluster)
        }
    }

    @Test func aStoppingWorkerLeavesQueuedJobsForTheNextOne() async throws {
        try await RelevoCluster.with { cluster in
            try await Self.startBusy(cluster)
            // SIGTERM: w1 finishes `short` and `long`, takes nothing new, and exits.
            await cluster.workers["w1"]?.stop(grace: .seconds(30))
            #expect(cluster.workers["w1"]?.exitedCleanly == true)
            try await Self.expectNoDeadLetters(cluster)
            try await cluster.startWorker(.init(name: "w2", slots: 2))
            let done = try await cluster.api.waitFor("busy", 1, states: ["passed", "failed"], seconds: 60)
            #expect(done["state"] as? String == "passed", "\(done)")
            try await Self.expectNoDeadLetters(cluster)
        }
    }

    /// A serial queue has one active consumer: a worker that stops consuming it while its
    /// serial job still runs (here on SIGTERM) would let the broker start the next serial job on
    /// another worker beside it. Each job takes a lock without waiting (`flock -n`): a job that
    /// finds it taken records an overlap.
    @Test func aStoppingWorkerKeepsTheNextSerialJobUntilItsOwnHasEnded() async throws {
        try await RelevoCluster.with { cluster in
            let overlaps = cluster.root.appendingPathComponent("overlaps")
            let lock = cluster.root.appendingPathComponent("serial.lock")
            func job(_ name: String) -> (name: String, body: String) {
                (name, "serial: repo\ntasks:\n  - exec: {command: /bin/sh, arguments: [\"-c\", \"flock -n \(lock.path) -c 'sleep 3' || { echo \(name) >> \(overlaps.path); exit 1; }\"]}")
            }
            try cluster.writeUnfetchedPipeline("serial", stage: "run", jobs: [job("first"), job("second")])
            try await cluster.startScheduler()
            let w1 = try await cluster.startWorker(.init(name: "w1", slots: 2))
            #expect(try await cluster.api.post("/go/api/pipelines/serial/schedule", body: Self.pinned).status == 202)
            try await eventually(60, "a serial job building on w1") {
                let jobs = try await cluster.api.instance("serial", 1)?.jobs(ofStage: "run") ?? []
                return jobs.contains { $0["state"] as? String == "building" }
            }
            // w2 waits as the queue's next consumer; w1 is told to stop while its job runs.
            try await cluster.startWorker(.init(name: "w2", slots: 2))
            await w1.stop(grace: .seconds(30))
            #expect(w1.exitedCleanly)
            let done = try await cluster.api.waitFor("serial", 1, states: ["passed", "failed"], seconds: 60)
            #expect(done["state"] as? String == "passed", "\(done)")
            #expect(!FileManager.default.fileExists(atPath: overlaps.path),
                    "serial jobs overlapped: \((try? String(contentsOf: overlaps, encoding: .utf8)) ?? "")")
            try await Self.expectNoDeadLetters(cluster)
        }
    }
}
