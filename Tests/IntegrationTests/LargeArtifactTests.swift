import Foundation
import Testing

/// A 1 GiB artifact goes up and comes back intact, and neither the worker nor the scheduler
/// holds it in memory: each process's peak resident memory grows by less than 64 MB.
@Suite(.serialized, .timeLimit(.minutes(8))) struct LargeArtifactTests {
    @Test func aGibibyteArtifactStreamsBothWaysInBoundedMemory() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "big\n"])
            try cluster.writeConfig("big.gocd.yaml", """
            format_version: 10
            pipelines:
              big:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - make:
                      jobs:
                        make:
                          artifacts:
                            - build: {source: big.bin}
                          tasks:
                            - exec: {command: /bin/sh, arguments: ["-c", "head -c 1073741824 /dev/urandom > big.bin && sha256sum big.bin"]}
                  - take:
                      jobs:
                        take:
                          tasks:
                            - fetch: {stage: make, job: make, source: big.bin, is_file: yes, destination: in}
                            - exec: {command: /bin/sh, arguments: ["-c", "sha256sum in/big.bin; rm -f in/big.bin"]}
            """)
            try await cluster.startScheduler()
            let worker = try await cluster.startWorker(.init(name: "worker-1"))
            let scheduler = try #require(cluster.scheduler)
            let before = (scheduler: try memory(scheduler.pid).rss, worker: try memory(worker.pid).rss)

            _ = try await cluster.api.trigger("big")
            try await eventually(420, "the upload to finish") {
                let run = try await cluster.api.instance("big", 1)
                return run?.stage("make")?["result"] != nil
            }
            let afterUpload = (scheduler: try memory(scheduler.pid).peak, worker: try memory(worker.pid).peak)
            print("after upload: scheduler peak \(afterUpload.scheduler >> 20) MB, worker peak \(afterUpload.worker >> 20) MB")
            let run = try await cluster.api.waitFor("big", 1, states: ["passed", "failed", "cancelled"], seconds: 420)
            let made = try await cluster.api.console("big", 1, "make", "make")
            let taken = try await cluster.api.console("big", 1, "take", "take")
            #expect(run["state"] as? String == "passed", "\(made)\n\(taken)")
            let madeSum = made.split(separator: "\n").first { $0.hasSuffix("  big.bin") }?.prefix(64)
            let takenSum = taken.split(separator: "\n").first { $0.hasSuffix("  in/big.bin") }?.prefix(64)
            #expect(madeSum != nil && madeSum == takenSum, "the fetched GiB must equal the built one:\n\(made)\n\(taken)")

            let stored = cluster.root.appendingPathComponent("data/artifacts/big/1/make/1/make/big.bin")
            let size = try FileManager.default.attributesOfItem(atPath: stored.path)[.size] as? NSNumber
            #expect(size?.int64Value == 1 << 30)

            let after = (scheduler: try memory(scheduler.pid).peak, worker: try memory(worker.pid).peak)
            let limit = 64 << 20
            print("1 GiB artifact: scheduler RSS \(before.scheduler >> 20) MB → peak \(after.scheduler >> 20) MB; worker RSS \(before.worker >> 20) MB → peak \(after.worker >> 20) MB")
            #expect(after.scheduler - before.scheduler < limit, "scheduler grew by \((after.scheduler - before.scheduler) >> 20) MB")
            #expect(after.worker - before.worker < limit, "worker grew by \((after.worker - before.worker) >> 20) MB")
        }
    }

    /// Resident memory now and its peak so far (VmRSS, VmHWM), in bytes.
    private func memory(_ pid: Int32) throws -> (rss: Int, peak: Int) {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return (Int(line.split(whereSeparator: \.isWhitespace)[1]) ?? 0) * 1024
        }
        return (field("VmRSS"), field("VmHWM"))
    }
}
