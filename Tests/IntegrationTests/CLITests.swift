import Foundation
import Testing

/// The `relevo` command line against a real scheduler: its output, and exit codes that scripts
/// can rely on.
@Suite(.serialized, .timeLimit(.minutes(3))) struct CLITests {
    private func relevo(_ cluster: RelevoCluster, _ arguments: [String]) async throws -> CommandResult {
        try await runProcessAsync(try builtProduct("relevo"), arguments + ["--server", "http://127.0.0.1:\(cluster.port)"])
    }

    @Test func validateNamesFileLineAndColumnAndExitsOne() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "pipelines:\n  broken:\n    stages: nope\n".write(to: directory.appendingPathComponent("bad.gocd.yaml"), atomically: true, encoding: .utf8)
        let result = try await runProcessAsync(try builtProduct("relevo"), ["validate", directory.path])
        #expect(result.status == 1)
        #expect(result.standardError.contains("bad.gocd.yaml:"), "\(result.standardError)")
        try FileManager.default.removeItem(at: directory.appendingPathComponent("bad.gocd.yaml"))
        #expect(try await runProcessAsync(try builtProduct("relevo"), ["validate", directory.path]).status == 0)
    }

    @Test func triggerStatusLogsApproveAgentsAndQueues() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "cli\n"])
            // The job waits for this file: the test lets it finish once the first line was followed.
            let goOn = cluster.root.appendingPathComponent("go-on")
            try cluster.writeConfig("cli.gocd.yaml", """
            format_version: 10
            pipelines:
              talky:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      jobs:
                        talk:
                          tasks:
                            - exec: {command: /bin/sh, arguments: ["-c", "echo first line; while [ ! -f \(goOn.path) ]; do sleep 0.1; done; echo second line"]}
                  - ship:
                      approval: manual
                      tasks:
                        - exec: {command: /bin/echo, arguments: [shipped]}
              sad:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo going down; exit 4"]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "cli-worker"))

            let triggered = try await relevo(cluster, ["trigger", "talky"])
            #expect(triggered.status == 0 && triggered.standardOutput.contains("scheduled talky/1"), "\(triggered)")

            // logs --follow prints while the job runs, and exits with its result.
            let output = cluster.root.appendingPathComponent("follow.out")
            FileManager.default.createFile(atPath: output.path, contents: nil)
            let follow = Process()
            follow.executableURL = try builtProduct("relevo")
            follow.arguments = ["logs", "talky", "1", "build", "talk", "--follow", "--server", "http://127.0.0.1:\(cluster.port)"]
            follow.standardOutput = try FileHandle(forWritingTo: output)
            try follow.run()
            try await eventually(30, "the first line to be followed") {
                ((try? String(contentsOf: output, encoding: .utf8)) ?? "").contains("first line")
            }
            let whileRunning = try await cluster.api.instance("talky", 1)?.jobs(ofStage: "build").first?["state"] as? String
            #expect(whileRunning != "completed", "the first line arrived while the job was still running")
            FileManager.default.createFile(atPath: goOn.path, contents: nil)
            try await eventually(30, "logs --follow to end") { !follow.isRunning }
            let followed = try String(contentsOf: output, encoding: .utf8)
            #expect(follow.terminationStatus == 0 && followed.contains("second line") && followed.contains("Job completed"), "\(followed)")

            let status = try await relevo(cluster, ["status", "talky", "1"])
            #expect(status.status == 0 && status.standardOutput.contains("awaitingApproval"), "\(status)")
            #expect(status.standardOutput.contains("build/1") && status.standardOutput.contains("talk"))
            #expect(status.standardOutput.contains("cli-worker"), "jobs show their agent's name: \(status)")
            // With no pipeline: every pipeline's newest instance, as on the dashboard.
            let overview = try await relevo(cluster, ["status"])
            #expect(overview.status == 0 && overview.standardOutput.contains("talky") && overview.standardOutput.contains("awaitingApproval"),
                    "\(overview)")
            let json = try await relevo(cluster, ["status", "talky", "--json"])
            #expect(json.status == 0 && (try? JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8))) != nil)

            #expect(try await relevo(cluster, ["approve", "talky", "1", "ship"]).status == 0)
            try await cluster.api.waitFor("talky", 1, states: ["passed"])
            #expect(try await relevo(cluster, ["approve", "talky", "1", "ship"]).status == 2, "approving twice is refused")

            // trigger --wait exits with the pipeline's result; a failed job's logs --follow exits 1.
            let sad = try await relevo(cluster, ["trigger", "sad", "--wait"])
            #expect(sad.status == 1 && sad.standardOutput.contains("sad/1: failed"), "\(sad)")
            let sadLogs = try await relevo(cluster, ["logs", "sad", "1", "build", "build", "--follow"])
            #expect(sadLogs.status == 1 && sadLogs.standardOutput.contains("going down"))

            let agents = try await relevo(cluster, ["agents"])
            #expect(agents.status == 0 && agents.standardOutput.contains("cli-worker"), "\(agents)")
            let queues = try await relevo(cluster, ["queues"])
            #expect(queues.status == 0 && queues.standardOutput.contains("relevo.jobs.default.any"), "\(queues)")

            #expect(try await relevo(cluster, ["status", "nothing-here"]).status == 3)
            #expect(try await relevo(cluster, ["trigger", "talky", "--revision", "nonsense"]).status == 64)
            let unreachable = try await runProcessAsync(try builtProduct("relevo"), ["agents", "--server", "http://127.0.0.1:1"])
            #expect(unreachable.status == 4 && unreachable.standardError.contains("cannot reach"))
        }
    }
}
