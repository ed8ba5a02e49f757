import Foundation
import Shared
import Testing

/// Workers follow config changes without a restart, and bad messages never stop anything.
@Suite(.serialized, .timeLimit(.minutes(3))) struct CatalogAndPoisonTests {
    @Test func aWorkerFollowsNewQueuesWhenTheConfigChanges() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeConfig("a.gocd.yaml", """
            format_version: 10
            pipelines:
              first:
                materials:
                  src: {git: "file:///nonexistent", auto_update: false}
                stages:
                  - build:
                      fetch_materials: false
                      jobs:
                        j: {resources: [linux], tasks: [{exec: {command: /bin/true}}]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "builder", resources: ["linux", "rpm"]))
            #expect(try await cluster.api.post("/go/api/pipelines/first/schedule", body: Self.pinned).status == 202)
            _ = try await cluster.api.waitFor("first", 1, states: ["passed"], seconds: 30)

            // A new pipeline needing another resource set means a new queue, which the running
            // worker must start consuming without a restart.
            try cluster.writeConfig("b.gocd.yaml", """
            format_version: 10
            pipelines:
              second:
                materials:
                  src: {git: "file:///nonexistent", auto_update: false}
                stages:
                  - package:
                      fetch_materials: false
                      jobs:
                        rpm: {resources: [rpm, linux], tasks: [{exec: {command: /bin/echo, arguments: [packaged]}}]}
            """)
            try await eventually(30, "the scheduler to load the new pipeline") {
                try await cluster.api.post("/go/api/pipelines/second/schedule", body: Self.pinned).status == 202
            }
            let run = try await cluster.api.waitFor("second", 1, states: ["passed", "failed"], seconds: 30)
            #expect(run["state"] as? String == "passed")
            #expect(cluster.workers["builder"]?.log.contains("relevo.jobs.default.linux+rpm") == true)
        }
    }

    /// Pipeline `ok`: one stage `build`, one job `only` running `/bin/true`, nothing to fetch.
    static let okPipeline = """
        format_version: 10
        pipelines:
          ok:
            materials:
              src: {git: "file:///nonexistent", auto_update: false}
            stages:
              - build:
                  fetch_materials: false
                  jobs:
                    only: {tasks: [{exec: {command: /bin/true}}]}
        """

    /// A schedule request body pinning `ok`'s material (which does not exist).
    static let pinned = #"{"materials": [{"name": "src", "revision": "0000000000000000000000000000000000000000"}]}"#

    @Test func aMalformedJobMessageGoesToTheDeadLetterQueueWithItsReason() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeConfig("a.gocd.yaml", Self.okPipeline)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            let client = try await AMQPClient.connect(try AMQPSettings(url: cluster.brokerURL, connectionName: "test:poison"))
            try await client.publish(Array("this is not a job".utf8), exchange: "", routingKey: "relevo.jobs.default.any")
            // The scheduler reads relevo.dead and keeps each message with its reason.
            try await eventually(20, "the poison message read from relevo.dead") { try await !cluster.api.deadLetters().isEmpty }
            let letter = try #require(try await cluster.api.deadLetters().first)
            #expect(letter["body"] as? String == "this is not a job")
            #expect((letter["reason"] as? String)?.contains("not valid JSON") == true, "\(letter)")
            #expect(letter["original_queue"] as? String == "relevo.jobs.default.any")
            #expect(letter["kind"] as? String == "other" && letter["outcome"] as? String == "recorded")
            #expect(try await client.queueStatus(QueueCatalog.deadLetterQueue).messages == 0)

            // The worker is still fine and runs real jobs.
            #expect(try await cluster.api.post("/go/api/pipelines/ok/schedule", body: Self.pinned).status == 202)
            #expect(try await cluster.api.waitFor("ok", 1, states: ["passed", "failed"], seconds: 30)["state"] as? String == "passed")
            await client.close()
        }
    }

    @Test func aPoisonEventThatCannotBeDeadLetteredIsHandedBackAndLaterEventsStillApply() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeConfig("a.gocd.yaml", Self.okPipeline)
            // No worker: the test plays one, by publishing its events itself.
            try await cluster.startScheduler()
            #expect(try await cluster.api.post("/go/api/pipelines/ok/schedule", body: Self.pinned).status == 202)
            let client = try await AMQPClient.connect(try AMQPSettings(url: cluster.brokerURL, connectionName: "test:hand-back"))
            // With relevo.dead gone, a poison event cannot be dead-lettered: the scheduler must
            // hand it back (nack) rather than leave it unacked, where the next batch's `multiple`
            // ack would settle it unseen.
            _ = try await client.deleteQueue(QueueCatalog.deadLetterQueue)
            try await client.publish(Array("not an event".utf8), exchange: QueueCatalog.eventsExchange, routingKey: "event.finished")
            // Handed back, it comes again (left unacked, it would not): several attempts in the log.
            try await eventually(20, "the event handed back and delivered again") {
                (cluster.scheduler?.log ?? "").components(separatedBy: "could not dead-letter an event; handing it back").count > 2
            }
            // The broker drops it after its delivery limit (its own dead-letter target is gone).
            try await eventually(30, "the poison event gone from the events queue") {
                try await client.queueStatus(QueueCatalog.schedulerEventsQueue).messages == 0
            }
            // The consumer is still alive and its acks in order: a job's events still apply.
            let attempt = JobAttempt(jobRunID: JobRunID(pipeline: "ok", pipelineCounter: 1, stage: "build", job: "only"), attempt: 1)
            let agent = try await cluster.registerPlayedAgent(name: "played")
            for event in [WorkerEvent.started(attempt, agent: agent.identity), .finished(attempt, result: .passed)] {
                try await RelevoCluster.publishSigned(event, by: agent, on: client)
            }
            #expect(try await cluster.api.waitFor("ok", 1, states: ["passed", "failed"], seconds: 30)["state"] as? String == "passed")
            await client.close()
        }
    }
}
