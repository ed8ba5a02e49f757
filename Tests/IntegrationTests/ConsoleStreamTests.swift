import Foundation
import Testing

/// A job's console as server-sent events: each line arrives while the job runs, the stream ends
/// with the result, and a reconnect with `Last-Event-ID` resumes where it was.
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

            try Data().write(to: gate)
            try await eventually(30, "the second line and the end") {
                let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
                return text.contains("48 second") && text.contains("event: end")
            }
            curl.waitUntilExit()
            let full = try String(contentsOf: output, encoding: .utf8)
            #expect(full.contains(#"data: {"result": "passed"}"#), "\(full)")
            #expect(curl.terminationStatus == 0, "the server ends the stream after the result")

            // A reconnect from the last event it saw gets only what came after.
            let resumed = try runProcess(URL(fileURLWithPath: "/usr/bin/curl"), ["-sN", "--max-time", "20", "-H", "Last-Event-ID: \(lastID)", url])
            #expect(!resumed.standardOutput.contains("42 first") && resumed.standardOutput.contains("48 second"), "\(resumed.standardOutput)")
            #expect(resumed.standardOutput.contains("event: end"))

            let missing = try await cluster.api.get("/go/api/jobs/talk/1/build/1/nope/console/stream")
            #expect(missing.status == 404)
            // The job page listens to the stream.
            #expect(try await cluster.api.get("/jobs/talk/1/build/1/speak").text.contains("console/stream"))
        }
    }

    private func startCurl(_ url: String, output: URL) throws -> Process {
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sN", "--max-time", "60", url]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}
