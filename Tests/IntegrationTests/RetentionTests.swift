import Foundation
import Testing

/// GoCD's artifact purge (issue #16): with the disk "low" (a threshold above the free space),
/// the oldest artifacts that may go are purged; a pipeline's newest instance and a stage with
/// `keep_artifacts: true` keep theirs; the job page says what happened, the dashboard warns.
@Suite(.serialized, .timeLimit(.minutes(3))) struct RetentionTests {
    @Test func theOldestArtifactsArePurgedWhenTheDiskIsLowExceptTheKeptOnes() async throws {
        try await RelevoCluster.with { cluster in
            func pipeline(_ name: String, keep: Bool) -> String {
                """
                  \(name):
                    materials:
                      src: {git: "file:///nonexistent", auto_update: false}
                    stages:
                      - build:
                          fetch_materials: false
                          keep_artifacts: \(keep)
                          jobs:
                            make:
                              artifacts: [{build: {source: out}}]
                              tasks:
                                - exec: {command: /bin/sh, arguments: [-c, "mkdir -p out && echo $GO_PIPELINE_COUNTER > out/n.txt"]}
                """
            }
            try cluster.writeConfig("retention.gocd.yaml", "format_version: 10\npipelines:\n" + pipeline("old", keep: false) + "\n" + pipeline("kept", keep: true) + "\n")
            // Far more than any disk has free: the disk is always "low".
            try await cluster.startScheduler(["--artifact-purge-start-mb", "100000000", "--artifact-purge-check-seconds", "1"])
            try await cluster.startWorker(.init(name: "w1"))
            for name in ["old", "kept"] {
                for counter in 1...3 {
                    #expect(try await cluster.api.post("/go/api/pipelines/\(name)/schedule", body: RelevoCluster.pinnedSchedule).status == 202)
                    _ = try await cluster.api.waitFor(name, counter, states: ["passed"], seconds: 60)
                }
            }
            let api = cluster.api
            @Sendable func file(_ name: String, _ counter: Int) async throws -> Int {
                try await api.get("/go/files/\(name)/\(counter)/build/1/make/out/n.txt").status
            }
            try await eventually(30, "old/1 and old/2 to be purged") {
                let first = try await file("old", 1)
                let second = try await file("old", 2)
                return first == 404 && second == 404
            }
            #expect(try await file("old", 3) == 200, "the newest instance keeps its artifacts")
            for counter in 1...3 { #expect(try await file("kept", counter) == 200, "keep_artifacts: kept/\(counter)") }
            let job = try await cluster.api.get("/jobs/old/1/build/1/make").text
            #expect(job.contains("data-artifacts-purged") && job.contains("below artifact_purge_start_mb"), "\(job)")
            #expect(try await cluster.api.get("/").text.contains("data-disk-low"))
            // The history stays: only the files go.
            #expect(try await cluster.api.instance("old", 1)?["state"] as? String == "passed")
        }
    }
}
