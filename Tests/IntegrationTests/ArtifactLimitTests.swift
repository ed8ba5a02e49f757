import Foundation
import Testing

/// Size limits on artifacts (`artifact_max_file_mb`, `artifact_max_job_mb`): an upload over
/// either is refused with 413, and the job fails saying which limit and by how much.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ArtifactLimitTests {
    @Test func anArtifactOverAFileOrAJobLimitFailsTheJobWithTheReason() async throws {
        try await RelevoCluster.with { cluster in
            func job(_ script: String) -> String {
                """
                artifacts:
                  - build: {source: out}
                tasks:
                  - exec: {command: /bin/sh, arguments: [-c, 'rm -rf out && mkdir out && \(script)']}
                """
            }
            try cluster.writeUnfetchedPipeline("sizes", stage: "make", jobs: [
                ("small", job("head -c 102400 /dev/zero > out/small.bin") + "\ntabs: {zeros: out/small.bin}"),
                ("big", job("head -c 2097152 /dev/zero > out/big.bin")),
                ("many", job("for f in a b c d; do head -c 921600 /dev/zero > out/$f.bin; done")),
            ])
            try await cluster.startScheduler(["--artifact-max-file-mb", "1", "--artifact-max-job-mb", "3"])
            try await cluster.startWorker(.init(name: "w1", slots: 3))
            #expect(try await cluster.api.post("/go/api/pipelines/sizes/schedule", body: RelevoCluster.pinnedSchedule).status == 202)
            let run = try await cluster.api.waitFor("sizes", 1, states: ["passed", "failed"], seconds: 90)
            let results = Dictionary(uniqueKeysWithValues: run.jobs(ofStage: "make").map { ($0["name"] as? String ?? "", $0["result"] as? String ?? "") })
            #expect(results == ["small": "passed", "big": "failed", "many": "failed"], "\(run)")
            let big = try await cluster.api.console("sizes", 1, "make", "big")
            #expect(big.contains("(HTTP 413)") && big.contains("'out/big.bin' is 2 MiB, over the 1 MiB a file may take (artifact_max_file_mb)"), "\(big)")
            let many = try await cluster.api.console("sizes", 1, "make", "many")
            #expect(many.contains("(HTTP 413)") && many.contains("over the 3 MiB one job run may take (artifact_max_job_mb)"), "\(many)")
            // The small job's custom tab links its artifact from the job page.
            let page = try await cluster.api.get("/jobs/sizes/1/make/1/small").text
            #expect(page.contains("data-tab=\"zeros\" href=\"/go/files/sizes/1/make/1/small/out/small.bin\""), "\(page)")
            #expect(try await cluster.api.get("/go/files/sizes/1/make/1/small/out/small.bin").body.count == 102400)
            // Nothing over the limits was kept.
            let stored = try await cluster.api.get("/go/files/sizes/1/make/1/big/out/big.bin")
            #expect(stored.status == 404, "\(stored.status)")
            // Not even its folder: the big job's only upload was refused before anything was made.
            let listing = try await cluster.api.get("/go/files/sizes/1/make/1/big/out")
            #expect(listing.status == 404, "\(listing.status) \(listing.text)")
        }
    }
}
