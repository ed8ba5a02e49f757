import Foundation
import Testing

/// Pipelines run end to end: a real broker (a virtual host per test), the scheduler and workers
/// as real processes, real git repositories, real task processes.
@Suite(.serialized, .timeLimit(.minutes(3))) struct PipelineRunTests {
    private func material(_ cluster: RelevoCluster, files: [String: String] = ["hello.txt": "hello from git\n"]) throws -> (GitRepository, String) {
        let repository = try GitRepository.create(in: cluster.root)
        let revision = try repository.commit(files, message: "first")
        return (repository, revision)
    }

    @Test func jobsGoToWorkersWithTheirResourcesAndStagesRunInOrder() async throws {
        try await RelevoCluster.with { cluster in
            let (repository, revision) = try material(cluster)
            try cluster.writeConfig("routing.gocd.yaml", """
            format_version: 10
            pipelines:
              routing:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - first:
                      jobs:
                        win:
                          resources: [windows]
                          tasks:
                            - exec: {command: /bin/sh, arguments: ["-c", "echo on $GO_AGENT_NAME"]}
                        split:
                          resources: [linux]
                          run_instances: 3
                          tasks:
                            - exec: {command: /bin/sh, arguments: ["-c", "echo index=$GO_JOB_RUN_INDEX count=$GO_JOB_RUN_COUNT rev=$GO_REVISION_SRC; cat hello.txt"]}
                  - second:
                      tasks:
                        - exec: {command: /bin/echo, arguments: ["second stage"]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "linux-1", resources: ["linux"]))
            try await cluster.startWorker(.init(name: "windows-1", resources: ["windows"]))
            let windowsUUID = try #require(try await cluster.agentUUID("windows-1"))

            let reply = try await cluster.api.post("/go/api/pipelines/routing/schedule")
            #expect(reply.status == 202, "\(reply.text)")
            let run = try await cluster.api.waitFor("routing", 1, states: ["passed", "failed", "cancelled"])
            #expect(run["state"] as? String == "passed", "\(run)")
            #expect((run["material_revisions"] as? [String: String])?["src"] == revision)

            let first = run.jobs(ofStage: "first")
            let win = try #require(first.first { $0["name"] as? String == "win" })
            #expect(win["agent_uuid"] as? String == windowsUUID, "the windows job must run on the windows worker")
            let split = first.filter { $0["name"] as? String == "split" }
            #expect(split.compactMap { $0["run_index"] as? Int }.sorted() == [1, 2, 3])
            #expect(split.allSatisfy { $0["agent_uuid"] as? String != windowsUUID })
            for index in 1...3 {
                let console = try await cluster.api.console("routing", 1, "first", "split", runIndex: index)
                #expect(console.contains("index=\(index) count=3 rev=\(revision)"), "\(console)")
                #expect(console.contains("hello from git"))
            }
            // The second stage was scheduled only after every job of the first had completed.
            let firstDone = first.compactMap { $0["completed_at"] as? String }.max() ?? ""
            let secondScheduled = run.jobs(ofStage: "second").first?["scheduled_at"] as? String ?? ""
            #expect(first.count == 4 && !secondScheduled.isEmpty && secondScheduled >= firstDone)
            #expect(try await cluster.api.console("routing", 1, "second", "second").contains("second stage"))
        }
    }

    @Test func aFailingTaskFailsTheJobStageAndPipeline() async throws {
        try await RelevoCluster.with { cluster in
            let (repository, _) = try material(cluster)
            try cluster.writeConfig("failing.gocd.yaml", """
            format_version: 10
            pipelines:
              failing:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo about to fail; exit 3"]}
                        - exec: {command: /bin/echo, arguments: ["should not run"]}
                        - exec: {command: /bin/echo, arguments: ["cleanup ran"], run_if: failed}
                  - deploy:
                      tasks:
                        - exec: {command: /bin/true}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            #expect(try await cluster.api.post("/go/api/pipelines/failing/schedule").status == 202)
            let run = try await cluster.api.waitFor("failing", 1, states: ["passed", "failed", "cancelled"])
            #expect(run["state"] as? String == "failed")
            #expect(run.stage("build")?["result"] as? String == "failed")
            #expect(run.jobs(ofStage: "build").first?["result"] as? String == "failed")
            #expect(run.jobs(ofStage: "deploy").isEmpty, "a stage after a failed one never starts")
            let console = try await cluster.api.console("failing", 1, "build", "build")
            #expect(console.contains("about to fail"))
            let lines = console.split(separator: "\n").map(String.init)
            #expect(lines.contains("cleanup ran"), "the run_if: failed task ran")
            #expect(!lines.contains("should not run"), "the task after the failure did not run")
            #expect(console.contains("Task skipped (run_if: passed): /bin/echo 'should not run'"))
        }
    }

    @Test func aPushedCommitStartsAnInstancePinnedToIt() async throws {
        try await RelevoCluster.with { cluster in
            let (repository, firstRevision) = try material(cluster, files: ["version.txt": "one\n"])
            try cluster.writeConfig("polled.gocd.yaml", """
            format_version: 10
            pipelines:
              polled:
                materials:
                  src: {git: "\(repository.url)", branch: main}
                stages:
                  - build:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo revision=$GO_REVISION; cat version.txt"]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            let first = try await cluster.api.waitFor("polled", 1, states: ["passed", "failed"])
            #expect((first["material_revisions"] as? [String: String])?["src"] == firstRevision)

            let secondRevision = try repository.commit(["version.txt": "two\n"], message: "second")
            let second = try await cluster.api.waitFor("polled", 2, states: ["passed", "failed"])
            #expect(second["state"] as? String == "passed")
            #expect((second["material_revisions"] as? [String: String])?["src"] == secondRevision)
            let console = try await cluster.api.console("polled", 2, "build", "build")
            #expect(console.contains("revision=\(secondRevision)"), "\(console)")
            #expect(console.contains("two"))
            #expect(!console.contains("one\n"))
            #expect(try await cluster.api.instance("polled", 3) == nil, "no commit, no new instance")
        }
    }

    @Test func aManualStageWaitsUntilApproved() async throws {
        try await RelevoCluster.with { cluster in
            let (repository, _) = try material(cluster)
            try cluster.writeConfig("gated.gocd.yaml", """
            format_version: 10
            pipelines:
              gated:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      tasks:
                        - exec: {command: /bin/echo, arguments: ["built"]}
                  - release:
                      approval: manual
                      tasks:
                        - exec: {command: /bin/echo, arguments: ["released"]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            #expect(try await cluster.api.post("/go/api/pipelines/nope/schedule").status == 404)
            #expect(try await cluster.api.post("/go/api/pipelines/gated/schedule").status == 202)
            let waiting = try await cluster.api.waitFor("gated", 1, states: ["awaitingApproval", "passed", "failed"])
            #expect(waiting["state"] as? String == "awaitingApproval")
            #expect(waiting.stage("release")?["state"] as? String == "awaitingApproval")
            #expect(waiting.jobs(ofStage: "release").isEmpty)

            let approve = try await cluster.api.post("/go/api/stages/gated/1/release/run")
            #expect(approve.status == 202, "\(approve.text)")
            let done = try await cluster.api.waitFor("gated", 1, states: ["passed", "failed"])
            #expect(done["state"] as? String == "passed")
            #expect(done.stage("release")?["approved_by"] as? String == "anonymous")
            #expect(try await cluster.api.console("gated", 1, "release", "release").contains("released"))
            let again = try await cluster.api.post("/go/api/stages/gated/1/release/run")
            #expect(again.status == 409, "\(again.text)")
            #expect(try again.json()["message"] != nil)
        }
    }

    @Test func aWorkerKilledMidJobHandsItToAnotherAsAttemptTwo() async throws {
        try await RelevoCluster.with { cluster in
            let (repository, _) = try material(cluster)
            // Attempt 1 would run for a minute: its task must die with its worker (the watchdog).
            let pidFile = cluster.root.appendingPathComponent("attempt-1.pid")
            try cluster.writeConfig("long.gocd.yaml", """
            format_version: 10
            pipelines:
              long:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo attempt=$RELEVO_JOB_ATTEMPT on $GO_AGENT_NAME; if [ $RELEVO_JOB_ATTEMPT = 1 ]; then echo $$ > \(pidFile.path); sleep 60; fi; echo finished"]}
            """)
            try await cluster.startScheduler()
            let first = try await cluster.startWorker(.init(name: "first"))
            #expect(try await cluster.api.post("/go/api/pipelines/long/schedule").status == 202)
            try await eventually(30, "the job to start on the first worker") {
                try await cluster.api.console("long", 1, "build", "build").contains("attempt=1 on first")
            }
            try await cluster.startWorker(.init(name: "second"))
            try await eventually(10, "the task to write its pid") { FileManager.default.fileExists(atPath: pidFile.path) }
            let taskPID = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            first.kill()
            try await eventually(20, "the killed worker's task to die with it") { !isAlive(taskPID) }
            let run = try await cluster.api.waitFor("long", 1, states: ["passed", "failed", "cancelled"])
            #expect(run["state"] as? String == "passed")
            let job = try #require(run.jobs(ofStage: "build").first)
            #expect(job["attempt"] as? Int == 2)
            #expect(job["agent_uuid"] as? String == (try await cluster.agentUUID("second")))
        }
    }

    @Test func aWorkerStoppedMidJobFinishesItBeforeExiting() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeConfig("drain.gocd.yaml", """
            format_version: 10
            pipelines:
              drain:
                materials:
                  src: {git: "file:///nonexistent", auto_update: false}
                stages:
                  - build:
                      fetch_materials: false
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo started attempt=$RELEVO_JOB_ATTEMPT; sleep 3; echo done"]}
            """)
            try await cluster.startScheduler()
            let worker = try await cluster.startWorker(.init(name: "w1"))
            let pinned = #"{"materials": [{"name": "src", "revision": "0000000000000000000000000000000000000000"}]}"#
            #expect(try await cluster.api.post("/go/api/pipelines/drain/schedule", body: pinned).status == 202)
            try await eventually(30, "the job to start") {
                try await cluster.api.console("drain", 1, "build", "build").contains("started attempt=1")
            }
            let other = try await cluster.startWorker(.init(name: "w2"))
            // SIGTERM: the worker takes no new job, finishes this one, reports it, then exits;
            // the job is never handed to the other worker.
            await worker.stop(grace: .seconds(30))
            #expect(!worker.isRunning)
            let run = try await cluster.api.waitFor("drain", 1, states: ["passed", "failed", "cancelled"], seconds: 10)
            #expect(run["state"] as? String == "passed")
            #expect(run.jobs(ofStage: "build").first?["attempt"] as? Int == 1, "finished where it started, not handed out again")
            #expect(try await cluster.api.console("drain", 1, "build", "build").contains("done"))
            try await Task.sleep(for: .seconds(1))  // room for a wrongful redelivery to show up
            #expect(!other.log.contains("drain/1/build/1/build/1"), "\(other.log)")
        }
    }

    @Test func anInvalidFileIsReportedWhileTheOtherPipelinesRun() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeConfig("good.gocd.yaml", """
            format_version: 10
            pipelines:
              good:
                materials:
                  src: {git: "file:///nonexistent", auto_update: false}
                stages:
                  - build:
                      fetch_materials: false
                      tasks:
                        - exec: {command: /bin/echo, arguments: ["good ran"]}
            """)
            try cluster.writeConfig("broken.gocd.yaml", """
            format_version: 10
            pipelines:
              broken:
                stages:
                  - build:
                      taskz: []
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            try await eventually(10, "the config error in the log") {
                cluster.scheduler?.log.contains("broken.gocd.yaml:6:") == true
            }
            #expect(try await cluster.api.post("/go/api/pipelines/broken/schedule").status == 404)
            #expect(try await cluster.api.post("/go/api/pipelines/good/schedule",
                                               body: #"{"materials": [{"name": "src", "revision": "0000000000000000000000000000000000000000"}]}"#).status == 202)
            let run = try await cluster.api.waitFor("good", 1, states: ["passed", "failed"])
            #expect(run["state"] as? String == "passed")
        }
    }
}

/// Whether process `pid` still runs (a zombie waiting for its reaper does not).
func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
    return state != "Z" && state != "X"
}
