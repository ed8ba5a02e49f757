import Foundation
import Testing

/// GoCD's environment `agents`: the config puts an agent in an environment; the agent is told
/// and takes that environment's jobs, without any setting of its own.
@Suite(.serialized, .timeLimit(.minutes(3))) struct EnvironmentAgentsTests {
    private func config(agents: [String]) -> String {
        """
        format_version: 10
        environments:
          prod:
            pipelines: [deploy]
            agents: [\(agents.joined(separator: ", "))]
        pipelines:
          deploy:
            materials:
              src: {git: "file:///nonexistent", auto_update: false}
            stages:
              - ship:
                  fetch_materials: false
                  jobs:
                    ship:
                      tasks:
                        - exec: {command: /bin/sh, arguments: [-c, 'echo "shipped in $GO_ENVIRONMENT_NAME"']}
        """
    }

    @Test func anAgentListedByAnEnvironmentTakesItsJobs() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeConfig("prod.gocd.yaml", config(agents: []))
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            let uuid = try #require(try await cluster.agentUUID("w1"))
            #expect(try await cluster.api.post("/go/api/pipelines/deploy/schedule", body: RelevoCluster.pinnedSchedule).status == 202)
            // No agent is in prod yet: the job waits.
            try await Task.sleep(for: .seconds(3))
            #expect(try await cluster.api.instance("deploy", 1)?.jobs(ofStage: "ship").first?["state"] as? String == "scheduled")

            // The config puts w1 in prod (by its UUID, as GoCD writes it): w1 is told and runs the job.
            try cluster.writeConfig("prod.gocd.yaml", config(agents: [uuid]))
            let run = try await cluster.api.waitFor("deploy", 1, states: ["passed", "failed"], seconds: 60)
            #expect(run["state"] as? String == "passed")
            #expect(try await cluster.api.console("deploy", 1, "ship", "ship").contains("shipped in prod"))
            let agents = try await cluster.api.get("/go/api/agents").json()
            let w1 = ((agents["_embedded"] as? [String: Any])?["agents"] as? [[String: Any]])?.first { $0["uuid"] as? String == uuid }
            #expect(w1?["environments"] as? [String] == ["prod"], "\(agents)")
        }
    }
}
