import Foundation
import Testing

/// A pipeline survives the broker and the scheduler going away in the middle of it.
@Suite(.serialized, .timeLimit(.minutes(4))) struct RestartTests {
    private let pipeline = """
    format_version: 10
    pipelines:
      survivor:
        materials:
          src: {git: "MATERIAL", branch: main, auto_update: false}
        stages:
          - one:
              tasks:
                - exec: {command: /bin/sh, arguments: ["-c", "echo stage one; sleep 2"]}
          - two:
              tasks:
                - exec: {command: /bin/sh, arguments: ["-c", "echo stage two; sleep 2"]}
          - three:
              tasks:
                - exec: {command: /bin/sh, arguments: ["-c", "echo stage three"]}
    """

    private func stageState(_ cluster: RelevoCluster, _ counter: Int, _ stage: String) async throws -> String? {
        try await cluster.api.instance("survivor", counter)?.stage(stage)?["state"] as? String
    }

    @Test func theBrokerRestartedMidPipeline() async throws {
        try await PrivateBroker.with { broker in
            try await RelevoCluster.with(privateBrokerURL: broker.url) { cluster in
                let repository = try GitRepository.create(in: cluster.root)
                try repository.commit(["a.txt": "a"])
                try cluster.writeConfig("survivor.gocd.yaml", pipeline.replacingOccurrences(of: "MATERIAL", with: repository.url))
                try await cluster.startScheduler()
                try await cluster.startWorker(.init(name: "w1"))
                // A first instance end to end, so the broker has written its queues down. (RabbitMQ
                // 3.10 killed within a second of declaring a quorum queue can come back with that
                // queue refusing consumers; a broker does not die that young in real use.)
                #expect(try await cluster.api.post("/go/api/pipelines/survivor/schedule").status == 202)
                _ = try await cluster.api.waitFor("survivor", 1, states: ["passed"], seconds: 60)

                #expect(try await cluster.api.post("/go/api/pipelines/survivor/schedule").status == 202)
                try await eventually(30, "stage one of #2 to build") { try await stageState(cluster, 2, "one") == "building" }
                try await broker.stop(kill: true)
                try await broker.start()

                let run = try await cluster.api.waitFor("survivor", 2, states: ["passed", "failed", "cancelled"], seconds: 120)
                #expect(run["state"] as? String == "passed", "\(run)")
                #expect((run["stages"] as? [[String: Any]])?.count == 3)
                #expect(try await cluster.api.console("survivor", 2, "three", "three").contains("stage three"))
            }
        }
    }

    @Test func aSecondSchedulerOnTheSameDataDirectoryRefusesToStartAndTheFirstGoesOn() async throws {
        try await RelevoCluster.with { cluster in
            try await cluster.startScheduler()
            let port = freePort()
            let second = try RelevoProcess.start("relevo-scheduler", name: "second-scheduler", arguments: [
                "serve", "--broker-url", cluster.brokerURL, "--data-dir", cluster.root.appendingPathComponent("data").path,
                "--config-dir", cluster.configDirectory.path, "--port", String(port),
            ], logDirectory: cluster.root)
            defer { second.kill() }  // if it did start, it must not outlive the test
            try await eventually(30, "the second scheduler to exit") { !second.isRunning }
            #expect(!second.exitedCleanly)
            #expect(second.log.contains("another relevo-scheduler is using the data directory"), "\(second.log)")
            #expect(try await cluster.api.get("/go/api/v1/health").status == 200, "the first one still serves")
            // The lock goes with the process: killed, the scheduler starts again at once.
            await cluster.stopScheduler(kill: true)
            try await cluster.startScheduler()
        }
    }

    @Test func theSchedulerRestartedMidPipeline() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["a.txt": "a"])
            try cluster.writeConfig("survivor.gocd.yaml", pipeline.replacingOccurrences(of: "MATERIAL", with: repository.url))
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            #expect(try await cluster.api.post("/go/api/pipelines/survivor/schedule").status == 202)
            _ = try await cluster.api.waitFor("survivor", 1, states: ["passed"], seconds: 60)

            #expect(try await cluster.api.post("/go/api/pipelines/survivor/schedule").status == 202)
            try await eventually(30, "stage one of #2 to build") { try await stageState(cluster, 2, "one") == "building" }
            await cluster.stopScheduler(kill: true)
            try await cluster.startScheduler()

            let run = try await cluster.api.waitFor("survivor", 2, states: ["passed", "failed", "cancelled"], seconds: 120)
            #expect(run["state"] as? String == "passed", "\(run)")
            let history = try await cluster.api.get("/go/api/pipelines/survivor/history").json()
            let runs = (history["_embedded"] as? [String: Any])?["pipelines"] as? [[String: Any]] ?? []
            #expect(runs.compactMap { $0["counter"] as? Int } == [2, 1])
            #expect(runs.allSatisfy { $0["state"] as? String == "passed" })
            #expect(try await cluster.api.console("survivor", 2, "one", "one").contains("stage one"))
        }
    }
}
