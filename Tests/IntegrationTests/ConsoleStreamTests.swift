import Foundation
import Testing

/// A job's console as server-sent events: each line arrives while the job runs, a server that
/// stops ends its streams, a reconnect with `Last-Event-ID` resumes where it was, and the stream
/// ends with the result.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ConsoleStreamTests {
    @Test func theConsoleStreamsWhileTheJobRunsAndResumes() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "stream\n"])
            let gate = cluster.root.appendingPathComponent("go-on")
            // The console also shows the command line, which has neither "42 first" nor "48 second".
            try cluster.writeConfig("talk.gocd.yaml", """
            format_version: 10
            pipelines:
              talk:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      jobs:
                        speak:
                          tasks:
                            - exec:
                                command: /bin/sh
                                arguments: ["-c", "echo $((6*7)) first; while [ ! -f \(gate.path) ]; do sleep 0.1; done; echo $((6*8)) second"]
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            _ = try await cluster.api.trigger("talk")
            let url = "http://127.0.0.1:\(cluster.port)/go/api/jobs/talk/1/build/1/speak/console/stream"

            // curl holds the stream open; its output grows as events arrive.
            let output = cluster.root.appendingPathComponent("stream.txt")
            let curl = try startCurl(url, output: output)
            defer { if curl.isRunning { curl.terminate() } }
            try await eventually(30, "the first line to be streamed while the job waits") {
                (try? String(contentsOf: output, encoding: .utf8))?.contains(#""text":"#) == true
                    && (try? String(contentsOf: output, encoding: .utf8))?.contains("42 first") == true
            }
            let early = try String(contentsOf: output, encoding: .utf8)
            #expect(!early.contains("48 second") && !early.contains("event: end"), "\(early)")
            let instance = try #require(try await cluster.api.instance("talk", 1))
            #expect(instance["state"] as? String == "building")
            let lastID = try #require(early.split(separator: "\n").last { $0.hasPrefix("id: ") }).dropFirst(4)

            // A graceful stop ends the open stream at once instead of waiting for it (the 15 s
            // grace of `stop` is shorter than a stream's 30 s life).
            let scheduler = try #require(cluster.scheduler)
            await cluster.stopScheduler()
            #expect(scheduler.exitedCleanly, "the scheduler stopped by itself, not by SIGKILL")
            curl.waitUntilExit()
            #expect(!(try String(contentsOf: output, encoding: .utf8)).contains("event: end"))

            // The next scheduler: a reconnect from the last event seen gets only what came after,
            // live, then the end.
            try await cluster.startScheduler()
            let resumed = cluster.root.appendingPathComponent("resumed.txt")
            let again = try startCurl(url, output: resumed, lastEventID: String(lastID))
            defer { if again.isRunning { again.terminate() } }
            try await eventually(30, "the resumed stream to open") {
                (try? String(contentsOf: resumed, encoding: .utf8))?.contains("retry:") == true
            }
            try Data().write(to: gate)
            again.waitUntilExit()
            let rest = try String(contentsOf: resumed, encoding: .utf8)
            #expect(!rest.contains("42 first") && rest.contains("48 second"), "\(rest)")
            #expect(rest.contains(#"event: end"#) && rest.contains(#"data: {"result": "passed"}"#), "\(rest)")
            #expect(again.terminationStatus == 0, "the server ends the stream after the result")

            let missing = try await cluster.api.get("/go/api/jobs/talk/1/build/1/nope/console/stream")
            #expect(missing.status == 404)
            // The job page listens to the stream.
            #expect(try await cluster.api.get("/jobs/talk/1/build/1/speak").text.contains("console/stream"))
        }
    }

    private func startCurl(_ url: String, output: URL, lastEventID: String? = nil) throws -> Process {
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sN", "--max-time", "60", url] + (lastEventID.map { ["-H", "Last-Event-ID: \($0)"] } ?? [])
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}
