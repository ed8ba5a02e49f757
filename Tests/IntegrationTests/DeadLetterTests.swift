import Foundation
import Shared
import Testing

/// A job message that is dead-lettered is never silent: the scheduler reads `relevo.dead`, fails
/// the job with the reason in its console, and lists the message with what it did.
@Suite(.serialized, .timeLimit(.minutes(3))) struct DeadLetterTests {
    @Test func aJobHandedBackPastTheDeliveryLimitFailsWithTheReason() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeConfig("a.gocd.yaml", """
            format_version: 10
            pipelines:
              doomed:
                materials:
                  src: {git: "file:///nonexistent", auto_update: false}
                stages:
                  - build:
                      fetch_materials: false
                      jobs:
                        only: {tasks: [{exec: {command: /bin/true}}]}
            """)
            // No worker: the test plays a broken one that hands the job back again and again.
            try await cluster.startScheduler()
            let pinned = #"{"materials": [{"name": "src", "revision": "0000000000000000000000000000000000000000"}]}"#
            #expect(try await cluster.api.post("/go/api/pipelines/doomed/schedule", body: pinned).status == 202)
            let client = try await AMQPClient.connect(try AMQPSettings(url: cluster.brokerURL, connectionName: "test:hand-back"))
            let queue = "relevo.jobs.default.any"
            let consumer = try await client.consume(queue: queue, prefetch: 1)
            var handedBack = 0
            for try await delivery in consumer {
                try await delivery.nack(requeue: true)
                handedBack += 1
                if handedBack > QueueCatalog.jobDeliveryLimit { break }
            }
            await consumer.cancel()
            let run = try await cluster.api.waitFor("doomed", 1, states: ["failed", "passed"], seconds: 30)
            #expect(run["state"] as? String == "failed")
            let console = try await cluster.api.console("doomed", 1, "build", "only")
            #expect(console.contains("dead-lettered from \(queue): handed back too many times"), "\(console)")
            let letter = try #require(try await cluster.api.deadLetters().first)
            #expect(letter["kind"] as? String == "job" && letter["job_run_id"] as? String == "doomed/1/build/1/only/1", "\(letter)")
            #expect(letter["outcome"] as? String == "job doomed/1/build/1/only/1 failed (attempt 1)")
            let metrics = try await cluster.api.get("/metrics").text
            #expect(metrics.contains("relevo_dead_letters_total{kind=\"job\"} 1"))
            await client.close()
        }
    }
}
