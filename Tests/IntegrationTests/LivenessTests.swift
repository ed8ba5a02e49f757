import Foundation
import Glibc
import Testing

/// The scheduler owns every job's liveness: a worker that hangs with its connection open (here
/// frozen with SIGSTOP) is declared lost after a few missed heartbeats, and its job runs again
/// on another worker as a new attempt; the frozen worker, once it thaws, is told to stop the
/// abandoned attempt, and its late result changes nothing.
@Suite(.serialized, .timeLimit(.minutes(3))) struct LivenessTests {
    @Test func aFrozenWorkersJobRunsAgainOnAnotherWorker() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeUnfetchedPipeline("hang", stage: "build", jobs: [("only", """
                tasks:
                  - exec: {command: /bin/sh, arguments: ["-c", "echo attempt=$RELEVO_JOB_ATTEMPT on $GO_AGENT_NAME; if [ $RELEVO_JOB_ATTEMPT = 1 ]; then sleep 40; fi; echo finished"]}
                """)])
            try await cluster.startScheduler()
            let first = try await cluster.startWorker(.init(name: "first"))
            #expect(try await cluster.api.post("/go/api/pipelines/hang/schedule", body: RelevoCluster.pinnedSchedule).status == 202)
            try await eventually(30, "attempt 1 to start on the first worker") {
                try await cluster.api.console("hang", 1, "build", "only").contains("attempt=1 on first")
            }
            try await cluster.startWorker(.init(name: "second"))
            // Frozen: its connection stays open and holds the job's message; only its
            // heartbeats stop.
            #expect(Glibc.kill(first.pid, SIGSTOP) == 0)
            let frozenAt = ContinuousClock.now
            let run = try await cluster.api.waitFor("hang", 1, states: ["passed", "failed", "cancelled"], seconds: 60)
            let recovered = ContinuousClock.now - frozenAt
            #expect(run["state"] as? String == "passed")
            let job = try #require(run.jobs(ofStage: "build").first)
            #expect(job["attempt"] as? Int == 2)
            #expect(job["agent_uuid"] as? String == (try await cluster.agentUUID("second")))
            let abandoned = try #require((job["abandoned_attempts"] as? [[String: Any]])?.first)
            #expect(abandoned["agent_uuid"] as? String == (try await cluster.agentUUID("first")))
            #expect((abandoned["reason"] as? String)?.contains("its agent first lost contact") == true, "\(abandoned)")
            print("frozen worker's job passed on another worker \(recovered) after the freeze")

            // Thawed, the first worker stops attempt 1 (told by the scheduler) instead of
            // sleeping out its 40 s, and its late result changes nothing.
            #expect(Glibc.kill(first.pid, SIGCONT) == 0)
            try await eventually(25, "the first worker to stop the abandoned attempt") {
                let agents = try await cluster.api.get("/go/api/agents").json()
                let list = (agents["_embedded"] as? [String: Any])?["agents"] as? [[String: Any]] ?? []
                return list.contains { $0["hostname"] as? String == "first" && $0["agent_state"] as? String == "idle" }
            }
            let after = try #require(try await cluster.api.instance("hang", 1))
            #expect(after["state"] as? String == "passed")
            #expect(after.jobs(ofStage: "build").first?["attempt"] as? Int == 2)
            #expect(try await cluster.api.deadLetters().isEmpty)
        }
    }
}
