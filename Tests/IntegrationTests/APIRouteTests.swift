import Foundation
import Testing

/// Every REST route's success case and its main refusal (not found, bad input, wrong state),
/// against a real scheduler. (Auth refusals: AuthAndWebhookTests; artifacts: ArtifactTests.)
@Suite(.serialized, .timeLimit(.minutes(3))) struct APIRouteTests {
    @Test func routesAnswerAndRefuseWithJSONErrors() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "routes\n"])
            try cluster.writeConfig("routes.gocd.yaml", """
            format_version: 10
            pipelines:
              routes:
                group: api
                lock_behavior: lockOnFailure
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      jobs:
                        compile: {tasks: [{exec: {command: /bin/echo, arguments: [compiled]}}]}
                  - release:
                      approval: manual
                      tasks: [{exec: {command: /bin/echo, arguments: [released]}}]
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            let api = cluster.api

            func expectError(_ reply: RelevoAPI.Reply, _ status: Int, _ what: String) {
                #expect(reply.status == status, "\(what): \(reply.status) \(reply.text)")
                #expect((try? reply.json()["message"] as? String)?.isEmpty == false, "\(what) has a JSON message: \(reply.text)")
            }

            // schedule
            expectError(try await api.post("/go/api/pipelines/nope/schedule"), 404, "schedule unknown")
            expectError(try await api.post("/go/api/pipelines/routes/schedule", body: "{not json"), 400, "schedule bad body")
            #expect(try await api.trigger("routes") == 1)
            try await api.waitFor("routes", 1, states: ["awaitingApproval"])

            // history, instance, stage, job, job history, console
            let page = try await api.get("/go/api/pipelines/routes/history?page_size=5")
            #expect(page.status == 200)
            // GoCD's shape too: the list at the top level, and GoCD's fields on each instance.
            let listed = try #require(try page.json()["pipelines"] as? [[String: Any]])
            #expect(listed.first?["natural_order"] as? Double == 1 && (listed.first?["scheduled_date"] as? Int ?? 0) > 1_700_000_000_000)
            #expect((listed.first?["build_cause"] as? [String: Any])?["trigger_message"] as? String == "Forced by anonymous", "\(listed)")
            expectError(try await api.get("/go/api/pipelines/nope/history"), 404, "history unknown")
            expectError(try await api.get("/go/api/pipelines/routes/history?page_size=zero"), 400, "history bad page size")
            #expect(try await api.get("/go/api/pipelines/routes/1").status == 200)
            expectError(try await api.get("/go/api/pipelines/routes/7"), 404, "instance unknown")
            expectError(try await api.get("/go/api/pipelines/routes/-1"), 400, "instance bad counter")
            #expect(try await api.get("/go/api/stages/routes/1/build/1").status == 200)
            expectError(try await api.get("/go/api/stages/routes/1/nope/1"), 404, "stage unknown")
            let job = try await api.get("/go/api/jobs/routes/1/build/1/compile")
            #expect(job.status == 200 && job.text.contains("\"compile\""))
            expectError(try await api.get("/go/api/jobs/routes/1/build/1/nope"), 404, "job unknown")
            let history = try await api.get("/go/api/jobs/routes/build/compile/history")
            #expect(history.status == 200, "\(history.text)")
            let jobs = try history.json()["jobs"] as? [[String: Any]] ?? []
            #expect(jobs.count == 1 && jobs.first?["pipeline_counter"] as? Int == 1 && jobs.first?["stage_name"] as? String == "build")
            expectError(try await api.get("/go/api/jobs/routes/build/nope/history"), 404, "job history unknown")
            #expect(try await api.console("routes", 1, "build", "compile").contains("compiled"))
            expectError(try await api.get("/go/files/routes/1/build/1/nope/cruise-output/console.log"), 404, "console unknown")

            // dashboard summary, agents, queues, metrics, health
            let dashboard = try await api.get("/go/api/dashboard")
            #expect(dashboard.status == 200 && dashboard.text.contains("\"pipeline_groups\"") && dashboard.text.contains("\"api\""))
            #expect(try await api.get("/go/api/agents").text.contains("\"w1\""))
            #expect(try await api.get("/go/api/queues").text.contains("relevo.scheduler.events"))
            #expect(try await api.get("/metrics").status == 200)
            #expect(try await api.get("/go/api/v1/health").status == 200)

            // approve, cancel, unlock, pause
            expectError(try await api.post("/go/api/stages/routes/x/release/run"), 400, "approve bad counter")
            expectError(try await api.post("/go/api/stages/routes/1/nope/run"), 404, "approve unknown stage")
            #expect(try await api.post("/go/api/stages/routes/1/release/run").status == 202)
            try await api.waitFor("routes", 1, states: ["passed"])
            expectError(try await api.post("/go/api/stages/routes/1/release/run"), 409, "approve twice")
            expectError(try await api.post("/go/api/stages/routes/1/build/1/cancel"), 409, "cancel an ended instance")
            expectError(try await api.post("/go/api/stages/routes/1/nope/1/cancel"), 404, "cancel unknown stage")
            expectError(try await api.post("/go/api/pipelines/routes/unlock"), 409, "unlock an unlocked pipeline")
            expectError(try await api.post("/go/api/pipelines/nope/unlock"), 404, "unlock unknown")
            expectError(try await api.post("/go/api/pipelines/nope/pause"), 404, "pause unknown")
            expectError(try await api.post("/go/api/pipelines/routes/unpause"), 409, "unpause a running pipeline")
            expectError(try await api.get("/go/api/nothing-here"), 404, "unknown route")
        }
    }
}
