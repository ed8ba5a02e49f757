import Foundation
import Testing

/// Cancelling from the API (and the CLI) stops the job on its worker: the task's process group
/// is killed, its `on_cancel` runs, and the instance ends cancelled.
@Suite(.serialized, .timeLimit(.minutes(3))) struct CancelTests {
    @Test func aCancelledStageStopsItsRunningJobOnTheWorker() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "cancel\n"])
            let marker = cluster.root.appendingPathComponent("cancelled-marker")
            try cluster.writeConfig("slow.gocd.yaml", """
            format_version: 10
            pipelines:
              slow:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      jobs:
                        wait:
                          tasks:
                            - exec:
                                command: /bin/sh
                                arguments: ["-c", "echo waiting; sleep 60"]
                                on_cancel:
                                  exec: {command: /bin/sh, arguments: ["-c", "echo cleaned up > \(marker.path)"]}
                  - after:
                      tasks:
                        - exec: {command: /bin/echo, arguments: [never]}
              stuck:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      jobs:
                        nowhere:
                          resources: [no-such-resource]
                          tasks:
                            - exec: {command: /bin/echo, arguments: [never]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            _ = try await cluster.api.trigger("slow")
            try await eventually(30, "the job to run") {
                try await cluster.api.console("slow", 1, "build", "wait").contains("waiting")
            }
            // The instance page offers a cancel button for the building stage (the CLI presses the same route).
            let page = try await cluster.api.get("/pipelines/slow/1").text
            #expect(page.contains("class=\"cancel\" data-post=\"/go/api/stages/slow/1/build/1/cancel\""), "\(page)")
            let dashboard = try await cluster.api.get("/").text
            #expect(dashboard.contains("class=\"trigger-options\" data-post=\"/go/api/pipelines/slow/schedule\""), "\(dashboard)")
            let started = ContinuousClock.now
            let cancel = try await runProcessAsync(try builtProduct("relevo"), ["cancel", "slow", "1", "build", "--server", "http://127.0.0.1:\(cluster.port)"])
            #expect(cancel.status == 0, "\(cancel.standardOutput)\(cancel.standardError)")
            let run = try await cluster.api.waitFor("slow", 1, states: ["cancelled", "passed", "failed"], seconds: 30)
            #expect(run["state"] as? String == "cancelled")
            #expect(run.jobs(ofStage: "after").isEmpty, "later stages do not run")
            try await eventually(30, "on_cancel to run on the worker") {
                FileManager.default.fileExists(atPath: marker.path)
            }
            #expect(ContinuousClock.now - started < .seconds(25), "the 60 s task was stopped, not waited for")
            try await eventually(20, "the worker to be idle again") {
                let agents = try await cluster.api.get("/go/api/agents").text
                return agents.contains("\"idle\"")
            }
            #expect(try await cluster.api.post("/go/api/stages/slow/1/build/1/cancel").status == 409, "it has ended already")

            // A job nobody took yet is cancelled too.
            _ = try await cluster.api.trigger("stuck")
            let stuck = try await cluster.api.post("/go/api/stages/stuck/1/build/1/cancel")
            #expect(stuck.status == 200, "\(stuck.text)")
            try await cluster.api.waitFor("stuck", 1, states: ["cancelled"])
            #expect(try await cluster.api.post("/go/api/stages/nope/1/build/1/cancel").status == 404)
        }
    }
}
