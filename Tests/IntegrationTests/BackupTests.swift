import Foundation
import Testing

/// `relevo-scheduler backup` while the scheduler runs, and the restore the README describes
/// (issue #16): a scheduler started on the restored files has the history, the artifacts and the
/// keys (an encrypted value still decrypts).
@Suite(.serialized, .timeLimit(.minutes(3))) struct BackupTests {
    @Test func aBackupTakenWhileRunningRestoresHistoryArtifactsAndKeys() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeUnfetchedPipeline("kept", stage: "build", jobs: [("make", """
                artifacts: [{build: {source: out}}]
                tasks:
                  - exec: {command: /bin/sh, arguments: [-c, "mkdir -p out && echo precious > out/result.txt"]}
                """)])
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            #expect(try await cluster.api.post("/go/api/pipelines/kept/schedule", body: RelevoCluster.pinnedSchedule).status == 202)
            _ = try await cluster.api.waitFor("kept", 1, states: ["passed"], seconds: 60)
            let encrypted = try await cluster.api.request("POST", "/go/api/admin/encrypt", body: #"{"value": "badger"}"#).json()["encrypted_value"] as? String

            let data = cluster.root.appendingPathComponent("data")
            let backups = cluster.root.appendingPathComponent("backups")
            let result = try await runProcessAsync(try builtProduct("relevo-scheduler"),
                                                   ["backup", backups.path, "--data-dir", data.path, "--with-artifacts"])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains("1 artifact files"), "\(result.standardOutput)")
            let folder = try #require(try FileManager.default.contentsOfDirectory(at: backups, includingPropertiesForKeys: nil).first)
            let index = try String(contentsOf: folder.appendingPathComponent("artifacts.index"), encoding: .utf8)
            #expect(index.contains("kept/1/build/1/make/out/result.txt"), "\(index)")

            // Restore: stop, replace the data directory with the backup, start again.
            await cluster.stopScheduler()
            try FileManager.default.removeItem(at: data)
            try FileManager.default.copyItem(at: folder, to: data)
            try await cluster.startScheduler()
            let run = try await cluster.api.instance("kept", 1)
            #expect(run?["state"] as? String == "passed", "the history came back")
            let file = try await cluster.api.get("/go/files/kept/1/build/1/make/out/result.txt")
            #expect(file.status == 200 && file.text == "precious\n", "\(file.status) \(file.text)")
            // The same cipher key: a value encrypted before the backup still decrypts for a job.
            let value = try #require(encrypted)
            try cluster.writeUnfetchedPipeline("sealed", stage: "go", jobs: [("check", """
                secure_variables:
                  WORD: "\(value)"
                tasks:
                  - exec: {command: /bin/sh, arguments: [-c, 'test "$WORD" = badger']}
                """)])
            try await eventually(20, "the new pipeline to load") {
                try await cluster.api.post("/go/api/pipelines/sealed/schedule", body: RelevoCluster.pinnedSchedule).status == 202
            }
            let sealed = try await cluster.api.waitFor("sealed", 1, states: ["passed", "failed"], seconds: 60)
            let console = try await cluster.api.console("sealed", 1, "go", "check")
            #expect(sealed["state"] as? String == "passed", "\(console)")

            // A data directory without a database is refused with the reason.
            let wrong = try await runProcessAsync(try builtProduct("relevo-scheduler"), ["backup", backups.path, "--data-dir", backups.path])
            #expect(wrong.status != 0 && wrong.standardError.contains("no database at"), "\(wrong)")
        }
    }
}
