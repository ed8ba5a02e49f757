import Foundation
import Shared
import Testing

/// A job message that is dead-lettered is never silent: the scheduler reads `relevo.dead`,
/// abandons the attempt with the reason in its console and dispatches the job again, fails it
/// once it has had its last attempt, and lists every message with what it did.
@Suite(.serialized, .timeLimit(.minutes(3))) struct DeadLetterTests {
    @Test func aJobHandedBackPastTheDeliveryLimitRunsAgainThenFailsWithTheReason() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeUnfetchedPipeline("doomed", stage: "build", jobs: [("only", "tasks: [{exec: {command: /bin/true}}]")])
            // No worker: the test plays a broken one that hands the job back again and again.
            try await cluster.startScheduler()
            #expect(try await cluster.api.post("/go/api/pipelines/doomed/schedule", body: RelevoCluster.pinnedSchedule).status == 202)
            let client = try await AMQPClient.connect(try AMQPSettings(url: cluster.brokerURL, connectionName: "test:hand-back"))
            let queue = "relevo.jobs.default.any"
            let consumer = try await client.consume(queue: queue, prefetch: 1)
            let breaker = Task {
                var handedBack = 0
                for try await delivery in consumer {
                    try await delivery.nack(requeue: true)
                    handedBack += 1
                }
                return handedBack
            }
            // Every attempt is dead-lettered in turn and dispatched again, until the last one.
            let run = try await cluster.api.waitFor("doomed", 1, states: ["failed", "passed"], seconds: 60)
            await consumer.cancel()
            _ = try? await breaker.value
            #expect(run["state"] as? String == "failed")
            let job = try #require(run.jobs(ofStage: "build").first)
            #expect(job["attempt"] as? Int == 5)
            let abandoned = try #require(job["abandoned_attempts"] as? [[String: Any]])
            #expect(abandoned.compactMap { $0["attempt"] as? Int } == [1, 2, 3, 4, 5])
            #expect((abandoned.first?["reason"] as? String)?.contains("dead-lettered from \(queue): handed back too many times") == true)
            let console = try await cluster.api.console("doomed", 1, "build", "only")
            #expect(console.contains("Attempt 5 was abandoned: its message was dead-lettered from \(queue): handed back too many times"), "\(console)")
            #expect(console.contains("The job has had 5 attempts; it fails."), "\(console)")
            let letters = try await cluster.api.deadLetters()
            #expect(letters.count == 5)
            let outcomes = Set(letters.compactMap { $0["outcome"] as? String })
            #expect(outcomes.contains("job doomed/1/build/1/only/1 dispatched again as attempt 2"), "\(outcomes)")
            #expect(outcomes.contains("job doomed/1/build/1/only/1 failed: attempt 5 was its last"), "\(outcomes)")
            let queuesPage = try await cluster.api.get("/queues").text
            #expect(queuesPage.contains("Dead letters") && queuesPage.contains("dispatched again as attempt 2"), "\(queuesPage)")
            let metrics = try await cluster.api.get("/metrics").text
            #expect(metrics.contains("relevo_dead_letters_total{kind=\"job\"} 5"))
            await client.close()
        }
    }
}
