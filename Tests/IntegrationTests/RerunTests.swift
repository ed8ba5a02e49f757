import Foundation
import Testing

/// Running an ended stage again on a real cluster: run failed jobs (from the CLI), the whole
/// stage (the API's "run stage"), and the API's refusals.
@Suite(.serialized, .timeLimit(.minutes(3))) struct RerunTests {
    @Test func aFailedJobRunsAgainAndThePipelineGoesOn() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "rerun\n"])
            let marker = cluster.root.appendingPathComponent("fixed")
            try cluster.writeConfig("flaky.gocd.yaml", """
            format_version: 10
            pipelines:
              flaky:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      jobs:
                        steady:
                          tasks:
                            - exec: {command: /bin/sh, arguments: ["-c", "echo steady ran in $GO_STAGE_COUNTER"]}
                        flaky:
                          tasks:
                            - exec:
                                command: /bin/sh
                                arguments: ["-c", "echo rerun of ${GO_RERUN_OF_STAGE_COUNTER:-none} as $GO_STAGE_COUNTER; test -f \(marker.path)"]
                  - publish:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo published build $GO_STAGE_COUNTER"]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            let api = cluster.api
            let console = { (stageCounter: Int, job: String) in
                try await api.get("/go/files/flaky/1/build/\(stageCounter)/\(job)/cruise-output/console.log").text
            }

            _ = try await api.trigger("flaky")
            var run = try await api.waitFor("flaky", 1, states: ["passed", "failed", "cancelled"])
            #expect(run["state"] as? String == "failed")
            #expect(run.jobs(ofStage: "publish").isEmpty)
            #expect(try await console(1, "flaky").contains("rerun of none as 1"))

            // Refusals: nothing to run again, bad bodies, unknown names.
            let selected = "/go/api/stages/flaky/1/build/1/run-selected-jobs"
            #expect(try await api.request("POST", selected, body: #"{"jobs": ["nope"]}"#).status == 404)
            #expect(try await api.request("POST", selected, body: #"{"jobs": []}"#).status == 400)
            #expect(try await api.request("POST", selected, body: "not json").status == 400)
            #expect(try await api.post("/go/api/stages/flaky/1/build/2/run-failed-jobs").status == 404)
            #expect(try await api.post("/go/api/stages/flaky/9/build/1/run-failed-jobs").status == 404)
            #expect(try await api.post("/go/api/stages/flaky/1/publish/1/run-failed-jobs").status == 409, "publish never ran")

            // The fix lands; only the failed job runs again, from the CLI.
            try Data().write(to: marker)
            let cli = try await runProcessAsync(try builtProduct("relevo"), ["rerun", "flaky", "1", "build", "--failed",
                                                                  "--server", "http://127.0.0.1:\(cluster.port)"])
            #expect(cli.status == 0, "\(cli.standardOutput)\(cli.standardError)")
            try await eventually(30, "build/2 and publish to pass") {
                let run = try await api.instance("flaky", 1)
                return run?["state"] as? String == "passed" && run?.stage("build")?["counter"] as? Int == 2
            }
            run = try #require(try await api.instance("flaky", 1))
            let build = try #require(run.stage("build"))
            #expect(build["rerun_of_counter"] as? Int == 1)
            let jobs = run.jobs(ofStage: "build")
            #expect(jobs.first { $0["name"] as? String == "steady" }?["original_stage_counter"] as? Int == 1)
            #expect(jobs.first { $0["name"] as? String == "flaky" }?["original_stage_counter"] == nil)
            #expect(jobs.first { $0["name"] as? String == "flaky" }?["rerun"] as? Bool == true, "GoCD's flag: it ran in the re-run")
            #expect(jobs.first { $0["name"] as? String == "steady" }?["rerun"] as? Bool == false)
            #expect(try await console(2, "flaky").contains("rerun of 1 as 2"))
            let steadyCopy = try await console(2, "steady")
            #expect(steadyCopy.contains("steady ran in 1"), "a copied job shows the output of the run it ran in: \(steadyCopy)")
            #expect(run.jobs(ofStage: "publish").first?["result"] as? String == "passed")
            let first = try await api.get("/go/api/stages/flaky/1/build/1")
            #expect(first.status == 200)
            #expect(try first.json()["result"] as? String == "failed", "the first run stays as it was")
            #expect(try await api.post("/go/api/stages/flaky/1/build/2/run-failed-jobs").status == 409, "no failed job left")
            #expect(try await api.post("/go/api/stages/flaky/1/build/1/run-failed-jobs").status == 409, "build/1 was run again already")

            // Play on an ended stage is refused (pressing twice must not run twice); "rerun" on its
            // current run runs all of it again, and the stages after it.
            let play = try await api.post("/go/api/stages/flaky/1/build/run")
            #expect(play.status == 409 && play.text.contains("re-run build/2"), "\(play.text)")
            let again = try await api.post("/go/api/stages/flaky/1/build/2/rerun")
            #expect(again.status == 202, "\(again.text)")
            #expect(try await api.post("/go/api/stages/flaky/1/build/2/rerun").status == 409, "a second press names a run that was re-run already")
            try await eventually(30, "build/3 and publish/2 to pass") {
                let run = try await api.instance("flaky", 1)
                return run?["state"] as? String == "passed" && run?.stage("publish")?["counter"] as? Int == 2
            }
            #expect(try await console(3, "steady").contains("steady ran in 3"))
            #expect(try await api.get("/go/files/flaky/1/publish/2/publish/cruise-output/console.log").text.contains("published build 2"))

            // The instance page shows the runs and offers the re-run buttons.
            let page = try await api.get("/pipelines/flaky/1").text
            #expect(page.contains("(re-run of 2)") && page.contains("Earlier runs: run 2 passed · run 1 failed"), "\(page)")
            #expect(page.contains("/go/api/stages/flaky/1/build/3/rerun"))

            // One selected job, from the CLI: the other is copied from build/3.
            let one = try await runProcessAsync(try builtProduct("relevo"), ["rerun", "flaky", "1", "build", "--job", "steady",
                                                                  "--server", "http://127.0.0.1:\(cluster.port)"])
            #expect(one.status == 0, "\(one.standardOutput)\(one.standardError)")
            try await eventually(30, "build/4 and publish/3 to pass") {
                let run = try await api.instance("flaky", 1)
                return run?["state"] as? String == "passed" && run?.stage("publish")?["counter"] as? Int == 3
            }
            let fourth = try #require(try await api.instance("flaky", 1)).jobs(ofStage: "build")
            #expect(fourth.first { $0["name"] as? String == "flaky" }?["original_stage_counter"] as? Int == 3)
            #expect(fourth.first { $0["name"] as? String == "steady" }?["original_stage_counter"] == nil)
            #expect(try await console(4, "steady").contains("steady ran in 4"))
        }
    }
}
