import Foundation
import Testing

/// Artifacts end to end: a worker uploads a job's files to the scheduler over HTTP, a later
/// stage or a downstream pipeline fetches them back, from the exact instance its dependency
/// chain pins.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ArtifactTests {
    @Test func artifactsAreUploadedListedServedAndFetchedByALaterStage() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "artifacts\n"])
            try cluster.writeConfig("art.gocd.yaml", """
            format_version: 10
            pipelines:
              art:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      jobs:
                        make:
                          artifacts:
                            - build: {source: out}
                            - build: {source: "dist/*.rpm", destination: pkgs}
                            - test: {source: "reports/**/*.xml", destination: tests}
                          tasks:
                            - exec:
                                command: /bin/sh
                                arguments:
                                  - -c
                                  - |
                                    set -e
                                    mkdir -p out/sub dist reports/unit/deep
                                    echo "alpha $GO_PIPELINE_COUNTER" > out/a.txt
                                    head -c 300000 /dev/urandom > out/sub/b.bin
                                    echo x > dist/x-1.rpm; echo y > dist/y-1.rpm; echo no > dist/notes.txt
                                    echo '<testsuite/>' > reports/unit/deep/t.xml
                                    sha256sum out/sub/b.bin | cut -c1-64 > expected.sha
                                    cat expected.sha
                  - use:
                      jobs:
                        check:
                          tasks:
                            - fetch: {stage: build, job: make, source: pkgs, destination: got}
                            - fetch: {stage: build, job: make, source: out/a.txt, destination: one, is_file: yes}
                            - fetch: {stage: build, job: make, source: out}
                            - exec:
                                command: /bin/sh
                                arguments: ["-c", "set -e; ls got/pkgs; cat one/a.txt; sha256sum out/sub/b.bin"]
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "worker-1"))
            _ = try await cluster.api.trigger("art")
            let run = try await cluster.api.waitFor("art", 1, states: ["passed", "failed", "cancelled"])
            let buildConsole = try await cluster.api.console("art", 1, "build", "make")
            let checkConsole = try await cluster.api.console("art", 1, "use", "check")
            #expect(run["state"] as? String == "passed", "\(buildConsole)\n\(checkConsole)")

            // GoCD's listing: folders and files, with Relevo's size and SHA-256.
            let listing = try await cluster.api.get("/go/files/art/1/build/1/make.json")
            #expect(listing.status == 200, "\(listing.text)")
            let entries = try #require(try JSONSerialization.jsonObject(with: listing.body) as? [[String: Any]])
            #expect(entries.map { $0["name"] as? String } == ["cruise-output", "out", "pkgs", "tests"], "\(listing.text)")
            let pkgs = entries.first { $0["name"] as? String == "pkgs" }?["files"] as? [[String: Any]] ?? []
            #expect(pkgs.compactMap { $0["name"] as? String } == ["x-1.rpm", "y-1.rpm"], "only *.rpm is published")
            let tests = try await cluster.api.get("/go/files/art/1/build/1/make/tests/unit/deep/t.xml")
            #expect(tests.status == 200 && tests.text == "<testsuite/>\n", "** keeps the folders below the wildcard")

            // The bytes served are the bytes built, with their checksum.
            let expected = String(try #require(buildConsole.split(separator: "\n").first { $0.count == 64 && $0.allSatisfy(\.isHexDigit) }))
            let binary = try await cluster.api.get("/go/files/art/1/build/1/make/out/sub/b.bin")
            #expect(binary.status == 200 && binary.body.count == 300_000)
            #expect(sha256(binary.body) == expected)
            #expect(checkConsole.contains("x-1.rpm") && checkConsole.contains("alpha 1"), "\(checkConsole)")
            #expect(checkConsole.contains("\(expected)  out/sub/b.bin"), "the fetched folder is intact: \(checkConsole)")

            // Refusals: no token, a wrong token, a path that leaves the job, a bad checksum.
            let noToken = try await cluster.api.request("PUT", "/go/files/art/1/build/1/make/evil.txt", data: Data("x".utf8))
            #expect(noToken.status == 401 && noToken.text.contains("message"), "\(noToken.text)")
            let wrongToken = try await cluster.api.request("PUT", "/go/files/art/1/build/1/make/evil.txt", data: Data("x".utf8),
                                                           headers: ["Authorization": "Bearer \(String(repeating: "0", count: 64))",
                                                                     "X-Relevo-Attempt": "1", "X-Relevo-SHA256": sha256(Data("x".utf8))])
            #expect(wrongToken.status == 403, "\(wrongToken.text)")
            let escape = try await cluster.api.get("/go/files/art/1/build/1/make/%2E%2E/%2E%2E/make.json")
            #expect(escape.status == 400, "\(escape.text)")
            let missing = try await cluster.api.get("/go/files/art/1/build/1/make/nothing-here")
            #expect(missing.status == 404 && missing.text.contains("message"))
        }
    }

    @Test func sourcesThatLeaveTheWorkDirectoryAreRefused() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "escape\n"])
            let outside = cluster.root.appendingPathComponent("outside-secret.txt")
            try "secret\n".write(to: outside, atomically: true, encoding: .utf8)
            let script = "ln -sf \(outside.path) link-out; mkdir -p folder; ln -sf \(cluster.root.path) folder/up; echo ran"
            func job(_ source: String) -> String {
                ["artifacts:", "  - build: {source: \"\(source)\"}", "tasks:",
                 "  - exec: {command: /bin/sh, arguments: [\"-c\", \"\(script)\"]}"]
                    .map { String(repeating: " ", count: 14) + $0 }.joined(separator: "\n")
            }
            try cluster.writeConfig("escape.gocd.yaml", """
            format_version: 10
            pipelines:
              escape:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      jobs:
                        dotdot:
            \(job("../../outside-secret.txt"))
                        absolute:
            \(job(outside.path))
                        symlink:
            \(job("link-out"))
                        nested:
            \(job("folder"))
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "worker-1", slots: 2))
            _ = try await cluster.api.trigger("escape")
            let run = try await cluster.api.waitFor("escape", 1, states: ["passed", "failed", "cancelled"])
            #expect(run["state"] as? String == "failed")
            for job in run.jobs(ofStage: "build") {
                #expect(job["result"] as? String == "failed", "\(job)")
            }
            let dotdot = try await cluster.api.console("escape", 1, "build", "dotdot")
            #expect(dotdot.contains("leaves the job's working directory ('..')"), "\(dotdot)")
            let absolute = try await cluster.api.console("escape", 1, "build", "absolute")
            #expect(absolute.contains("is an absolute path"), "\(absolute)")
            let symlink = try await cluster.api.console("escape", 1, "build", "symlink")
            #expect(symlink.contains("symbolic link") && symlink.contains("outside the job's working directory"), "\(symlink)")
            let nested = try await cluster.api.console("escape", 1, "build", "nested")
            #expect(nested.contains("symbolic link") && nested.contains("folder/up"), "\(nested)")
            // Nothing was stored for any of them.
            for job in ["dotdot", "absolute", "symlink", "nested"] {
                let listing = try await cluster.api.get("/go/files/escape/1/build/1/\(job).json")
                let entries = try JSONSerialization.jsonObject(with: listing.body) as? [[String: Any]] ?? []
                #expect(entries.map { $0["name"] as? String } == ["cruise-output"], "\(job): \(listing.text)")
            }
        }
    }

    @Test func aFetchFromAGrandparentGetsThePinnedInstanceBytes() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            let first = try repository.commit(["version.txt": "one\n"])
            try cluster.writeConfig("chain.gocd.yaml", """
            format_version: 10
            pipelines:
              grand:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - publish:
                      jobs:
                        publish:
                          artifacts:
                            - build: {source: data.txt}
                          tasks:
                            - exec: {command: /bin/sh, arguments: ["-c", "echo \\"grand $GO_PIPELINE_COUNTER $(cat version.txt)\\" > data.txt"]}
              parent:
                materials:
                  up: {pipeline: grand, stage: publish}
                stages:
                  - pass:
                      tasks:
                        - exec: {command: /bin/echo, arguments: ["parent passes"]}
              sibling:
                materials:
                  grand: {pipeline: grand, stage: publish}
                stages:
                  - pass:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo sibling of $GO_DEPENDENCY_LOCATOR_GRAND"]}
              child:
                materials:
                  parent: {pipeline: parent, stage: pass}
                stages:
                  - wait:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo label=$GO_DEPENDENCY_LABEL_PARENT locator=$GO_DEPENDENCY_LOCATOR_PARENT"]}
                  - take:
                      approval: manual
                      tasks:
                        - fetch: {pipeline: grand/parent, stage: publish, job: publish, source: data.txt, is_file: yes, destination: in}
                        - exec: {command: /bin/cat, arguments: [in/data.txt]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "worker-1", slots: 2))

            _ = try await cluster.api.trigger("grand")
            // The upstream stage passing triggers both downstream pipelines (fan-out), and the
            // child after its parent.
            try await cluster.api.waitFor("sibling", 1, states: ["passed"])
            let child1 = try await cluster.api.waitFor("child", 1, states: ["awaitingApproval"])
            #expect((child1["material_revisions"] as? [String: String])?["parent"] == "parent/1/pass/1")
            #expect(try await cluster.api.console("child", 1, "wait", "wait").contains("label=1 locator=parent/1/pass/1"))
            #expect(try await cluster.api.console("sibling", 1, "pass", "pass").contains("sibling of grand/1/publish/1"))

            // A newer grand publishes other bytes, and flows down to a second child.
            let second = try repository.commit(["version.txt": "two\n"])
            #expect(first != second)
            _ = try await cluster.api.trigger("grand")
            try await cluster.api.waitFor("child", 2, states: ["awaitingApproval"])
            let newer = try await cluster.api.get("/go/files/grand/2/publish/1/publish/data.txt")
            #expect(newer.text == "grand 2 two\n")

            // The play button on child 1: it fetches what grand 1 published, not the latest.
            let approve = try await cluster.api.post("/go/api/stages/child/1/take/run")
            #expect(approve.status == 202, "\(approve.text)")
            let done = try await cluster.api.waitFor("child", 1, states: ["passed", "failed"])
            let console = try await cluster.api.console("child", 1, "take", "take")
            #expect(done["state"] as? String == "passed", "\(console)")
            #expect(console.contains("grand 1 one"), "\(console)")
            #expect(console.contains("from grand/1/publish/1/publish"), "\(console)")
            #expect(!console.contains("grand 2 two"))
        }
    }

    @Test func aNewDownstreamPipelineRunsForItsUpstreamsNewestPassedStage() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "late\n"])
            let upstream = """
            format_version: 10
            pipelines:
              up:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      tasks:
                        - exec: {command: /bin/echo, arguments: [built]}
            """
            try cluster.writeConfig("up.gocd.yaml", upstream)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "worker-1"))
            _ = try await cluster.api.trigger("up")
            _ = try await cluster.api.trigger("up")
            try await cluster.api.waitFor("up", 2, states: ["passed"])
            #expect(try await cluster.api.instance("late", 1) == nil)

            // A pipeline that depends on `up` appears: it runs once, for up's newest passed run.
            try cluster.writeConfig("late.gocd.yaml", """
            format_version: 10
            pipelines:
              late:
                materials:
                  up: {pipeline: up, stage: build}
                stages:
                  - use:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo after $GO_DEPENDENCY_LOCATOR_UP"]}
            """)
            let late = try await cluster.api.waitFor("late", 1, states: ["passed"], seconds: 30)
            #expect((late["material_revisions"] as? [String: String])?["up"] == "up/2/build/1")
            // A restart does not trigger it again.
            await cluster.stopScheduler()
            try await cluster.startScheduler()
            try await Task.sleep(for: .seconds(3))
            #expect(try await cluster.api.history("late").count == 1)
        }
    }

    @Test func upstreamTriggersDeferredByALockSurviveASchedulerRestart() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "deferred\n"])
            let gate = cluster.root.appendingPathComponent("open")
            try cluster.writeConfig("deferred.gocd.yaml", """
            format_version: 10
            pipelines:
              up:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      tasks: [{exec: {command: /bin/true}}]
              down:
                lock_behavior: unlockWhenFinished
                materials:
                  up: {pipeline: up, stage: build}
                stages:
                  - wait:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "while [ ! -f \(gate.path) ]; do sleep 0.1; done"]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "worker-1", slots: 2))
            let api = cluster.api
            _ = try await api.trigger("up")
            try await api.waitFor("down", 1, states: ["building"])
            // Two more upstream passes while down/1 holds the lock: both triggers wait.
            for counter in 2...3 {
                #expect(try await api.trigger("up") == counter)
                try await api.waitFor("up", counter, states: ["passed"])
            }
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await api.history("down").count == 1)

            // A restart in between: the catch-up pass alone would only redo the newest (up/3).
            await cluster.stopScheduler()
            try await cluster.startScheduler()
            try Data().write(to: gate)
            try await api.waitFor("down", 1, states: ["passed"])
            try await api.waitFor("down", 3, states: ["passed"], seconds: 60)
            var pins: [String] = []
            for counter in 2...3 {
                let run = try #require(try await api.instance("down", counter))
                pins.append((run["material_revisions"] as? [String: String])?["up"] ?? "?")
            }
            #expect(pins.sorted() == ["up/2/build/1", "up/3/build/1"], "every deferred trigger ran once: \(pins)")
            try await Task.sleep(for: .seconds(3))
            #expect(try await api.history("down").count == 3, "and none ran twice")
        }
    }

    @Test func locksKeepASecondInstanceOutUntilTheFirstEndsOrIsUnlocked() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "locks\n"])
            try cluster.writeConfig("locks.gocd.yaml", """
            format_version: 10
            pipelines:
              exclusive:
                lock_behavior: unlockWhenFinished
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - slow:
                      tasks:
                        - exec: {command: /bin/sleep, arguments: ["2"]}
              fragile:
                lock_behavior: lockOnFailure
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - breaks:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "exit 1"]}
              free:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - slow:
                      tasks:
                        - exec: {command: /bin/sleep, arguments: ["1"]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "worker-1", slots: 2))

            _ = try await cluster.api.trigger("exclusive")
            let refused = try await cluster.api.post("/go/api/pipelines/exclusive/schedule")
            #expect(refused.status == 409 && refused.text.contains("locked"), "\(refused.text)")
            try await cluster.api.waitFor("exclusive", 1, states: ["passed"])
            #expect(try await cluster.api.trigger("exclusive") == 2, "finished: the lock is released")

            _ = try await cluster.api.trigger("fragile")
            try await cluster.api.waitFor("fragile", 1, states: ["failed"])
            let stillLocked = try await cluster.api.post("/go/api/pipelines/fragile/schedule")
            #expect(stillLocked.status == 409 && stillLocked.text.contains("lockOnFailure"), "\(stillLocked.text)")
            let unlock = try await cluster.api.post("/go/api/pipelines/fragile/unlock")
            #expect(unlock.status == 200, "\(unlock.text)")
            let unlockAgain = try await cluster.api.post("/go/api/pipelines/fragile/unlock")
            #expect(unlockAgain.status == 409)
            #expect(try await cluster.api.trigger("fragile") == 2)

            // Without a lock, instances run side by side.
            _ = try await cluster.api.trigger("free")
            #expect(try await cluster.api.trigger("free") == 2)
            let unknown = try await cluster.api.post("/go/api/pipelines/nope/unlock")
            #expect(unknown.status == 404)
        }
    }

    @Test func aPipelineInAnEnvironmentRunsOnlyOnThatEnvironmentsWorkers() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "environments\n"])
            try cluster.writeConfig("envs.gocd.yaml", """
            format_version: 10
            environments:
              pro:
                environment_variables: {ZONE: eu, LEVEL: env}
                pipelines: [deploy]
            pipelines:
              deploy:
                environment_variables: {LEVEL: pipeline}
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - ship:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo env=$GO_ENVIRONMENT_NAME zone=$ZONE level=$LEVEL"]}
              tool:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - run:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo env=${GO_ENVIRONMENT_NAME:-none}"]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "plain-1", slots: 2))
            try await cluster.startWorker(.init(name: "dev-1", environments: ["dev"], slots: 2))
            try await cluster.startWorker(.init(name: "pro-1", environments: ["pro"], slots: 2))
            let plain = try #require(try await cluster.agentUUID("plain-1"))
            let pro = try #require(try await cluster.agentUUID("pro-1"))
            for _ in 0..<4 {
                _ = try await cluster.api.trigger("deploy")
                _ = try await cluster.api.trigger("tool")
            }
            for counter in 1...4 {
                let deploy = try await cluster.api.waitFor("deploy", counter, states: ["passed", "failed"])
                #expect(deploy.jobs(ofStage: "ship").first?["agent_uuid"] as? String == pro, "deploy/\(counter) ran outside pro")
                let tool = try await cluster.api.waitFor("tool", counter, states: ["passed", "failed"])
                #expect(tool.jobs(ofStage: "run").first?["agent_uuid"] as? String == plain,
                        "tool/\(counter) is in no environment: only plain-1 may take it")
            }
            let console = try await cluster.api.console("deploy", 1, "ship", "ship")
            #expect(console.contains("env=pro zone=eu level=pipeline"), "\(console)")
            #expect(try await cluster.api.console("tool", 1, "run", "run").contains("env=none"))
        }
    }
}

/// SHA-256 in hex, computed by `sha256sum` (independent of the code under test).
func sha256(_ data: Data) -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-sha-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: file) }
    guard (try? data.write(to: file)) != nil,
          let result = try? runProcess(URL(fileURLWithPath: "/usr/bin/sha256sum"), [file.path]) else { return "" }
    return String(result.standardOutput.prefix(64))
}
