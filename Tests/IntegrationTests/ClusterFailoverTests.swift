import Foundation
import Testing

/// Relevo on a three-node RabbitMQ cluster (`scripts/broker cluster`): quorum queues replicated
/// on every node, the scheduler and the workers given every node's address. One node is
/// SIGKILLed mid-run: the one every client is connected to and that leads every queue.
@Suite(.serialized, .timeLimit(.minutes(8))) struct ClusterFailoverTests {
    @Test func aNodeKilledMidRunLosesNoJobDispatchResumesAndTheNodeRejoins() async throws {
        try await PrivateBrokerCluster.with(nodes: 3) { brokers in
            let schedulerURL = try await brokers.url(user: "scheduler")
            try await RelevoCluster.with(privateBrokerURL: schedulerURL, workerBrokerURL: try await brokers.url(user: "worker"),
                                         managementURL: try await brokers.managementURL(node: 2)) { cluster in
                let runs = cluster.root.appendingPathComponent("runs")
                try FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
                // Each run of a job's tasks leaves a line in runs/<pipeline>-<stage>-<job>.
                let task = { (stage: String, job: String) in
                    "tasks:\n  - exec: {command: /bin/sh, arguments: [-c, \"sleep 1; echo \\\"$RELEVO_JOB_ATTEMPT $GO_AGENT_NAME\\\" >> \(runs.path)/$GO_PIPELINE_NAME-\(stage)-\(job)\"]}"
                }
                let pipelines = (1...8).map { "load-\($0)" }
                for pipeline in pipelines {
                    try cluster.writeConfig("\(pipeline).gocd.yaml", """
                    format_version: 10
                    pipelines:
                      \(pipeline):
                        materials:
                          src: {git: "file:///nonexistent", auto_update: false}
                        stages:
                    \(["one", "two"].map { stage in
                        "      - \(stage):\n          fetch_materials: false\n          jobs:\n" + ["a", "b", "c"].map { job in
                            "            \(job):\n" + task(stage, job).split(separator: "\n").map { "              " + $0 }.joined(separator: "\n")
                        }.joined(separator: "\n")
                    }.joined(separator: "\n"))
                    """)
                }
                try cluster.writeUnfetchedPipeline("probe", stage: "go", jobs: [("now", "tasks:\n  - exec: {command: /bin/true}")])
                try await cluster.startScheduler()
                try await cluster.startWorker(.init(name: "w-1", slots: 4))
                try await cluster.startWorker(.init(name: "w-2", slots: 4))

                // Every job queue has a member on each node.
                try await eventually(20, "relevo.jobs.default.any on three members") {
                    let queue = try await queueReport(cluster, "relevo.jobs.default.any")
                    return (queue?["members"] as? [String])?.count == 3 && (queue?["online"] as? [String])?.count == 3
                }

                for pipeline in pipelines {
                    let reply = try await cluster.api.post("/go/api/pipelines/\(pipeline)/schedule", body: RelevoCluster.pinnedSchedule)
                    #expect(reply.status == 202, "\(reply.text)")
                }
                // Mid-run: some jobs have run, most have not.
                try await eventually(30, "the first jobs to finish") {
                    (try FileManager.default.contentsOfDirectory(atPath: runs.path)).count >= 3
                }
                let killed = try brokers.nodeName(1)
                try await brokers.kill(node: 1)
                let killedAt = ContinuousClock.now

                // Dispatch resumes: a pipeline triggered now starts within 10 s.
                let probe = try await within(30, "the scheduler to accept a trigger after the kill") {
                    while true {
                        if let reply = try? await cluster.api.post("/go/api/pipelines/probe/schedule", body: RelevoCluster.pinnedSchedule),
                           reply.status == 202 { return reply }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                #expect(probe.status == 202)
                var resumedAfter: Duration?
                while resumedAfter == nil, ContinuousClock.now - killedAt < .seconds(30) {
                    let state = try await cluster.api.instance("probe", 1)?.jobs(ofStage: "go").first?["state"] as? String
                    if let state, state != "scheduled" { resumedAfter = ContinuousClock.now - killedAt } else { try await Task.sleep(for: .milliseconds(100)) }
                }
                let resumed = try #require(resumedAfter, "no job started within 30 s of the node's death")
                print("cluster failover: dispatch resumed \(resumed) after \(killed) was killed")
                #expect(resumed < .seconds(10), "dispatch resumed \(resumed) after the node's death")

                // The queues page names the lost member.
                try await eventually(20, "the queues API to show a member offline") {
                    let queue = try await queueReport(cluster, "relevo.jobs.default.any")
                    return (queue?["online"] as? [String])?.contains(killed) == false && (queue?["members"] as? [String])?.contains(killed) == true
                }

                // Every pipeline ends, passed, and every job has run to its end.
                for pipeline in pipelines + ["probe"] {
                    let run = try await cluster.api.waitFor(pipeline, 1, states: ["passed", "failed", "cancelled"], seconds: 120)
                    #expect(run["state"] as? String == "passed", "\(pipeline): \(run)")
                }
                var ranTwice: [String] = []
                for pipeline in pipelines {
                    for stage in ["one", "two"] {
                        for job in ["a", "b", "c"] {
                            let lines = ((try? String(contentsOf: runs.appendingPathComponent("\(pipeline)-\(stage)-\(job)"), encoding: .utf8)) ?? "")
                                .split(separator: "\n")
                            #expect(!lines.isEmpty, "\(pipeline)/\(stage)/\(job) never ran")
                            if lines.count > 1 {
                                // Why its first attempt was given up, from the API.
                                let record = try await cluster.api.instance(pipeline, 1)?.jobs(ofStage: stage).first { $0["name"] as? String == job }
                                let reasons = (record?["abandoned_attempts"] as? [[String: Any]] ?? []).map { "\($0["attempt"] ?? "?"): \($0["reason"] ?? "?")" }
                                ranTwice.append("\(pipeline)/\(stage)/\(job): \(lines) abandoned: \(reasons)")
                            }
                        }
                    }
                }
                print("cluster failover: \(ranTwice.count) of 48 jobs ran twice: \(ranTwice)")
                #expect(ranTwice.isEmpty, "jobs whose tasks ran twice: \(ranTwice)")
                let deadLetters = try await cluster.api.get("/go/api/dead_letters").text
                #expect(!deadLetters.contains("\"kind\""), "nothing dead-lettered: \(deadLetters)")

                // The killed node comes back and rejoins: three running nodes, every member online.
                try await brokers.start(node: 1)
                try await eventually(60, "the node to rejoin") {
                    try await brokers.runningNodes(asSeenBy: 2).count == 3
                }
                try await eventually(60, "every member of relevo.jobs.default.any online again") {
                    (try await queueReport(cluster, "relevo.jobs.default.any")?["online"] as? [String])?.count == 3
                }
            }
        }
    }

    private func queueReport(_ cluster: RelevoCluster, _ name: String) async throws -> [String: Any]? {
        let queues = try await cluster.api.get("/go/api/queues").json()
        let list = (queues["_embedded"] as? [String: Any])?["queues"] as? [[String: Any]] ?? []
        return list.first { $0["name"] as? String == name }
    }
}
