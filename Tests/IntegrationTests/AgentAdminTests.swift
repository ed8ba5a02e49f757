import Foundation
import Testing

/// An administrator disables an agent: it takes no job until enabled again, across its restarts.
@Suite(.serialized, .timeLimit(.minutes(3))) struct AgentAdminTests {
    @Test func aDisabledAgentTakesNoJobsUntilEnabled() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "agents\n"])
            try cluster.writeConfig("quick.gocd.yaml", """
            format_version: 10
            pipelines:
              quick:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - run:
                      tasks: [{exec: {command: /bin/echo, arguments: [quick]}}]
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1", slots: 2))
            try await cluster.startWorker(.init(name: "w2", slots: 2))
            let w1 = try #require(try await cluster.agentUUID("w1"))
            let w2 = try #require(try await cluster.agentUUID("w2"))
            let api = cluster.api

            let disable = try await api.request("PATCH", "/go/api/agents/\(w1)", body: #"{"agent_config_state": "Disabled"}"#)
            #expect(disable.status == 200 && (try? disable.json()["agent_state"] as? String) == "disabled", "\(disable.text)")
            try await consumers(of: "relevo.jobs.default.any", are: 1, cluster)
            for counter in 1...4 {
                #expect(try await api.trigger("quick") == counter)
                let run = try await api.waitFor("quick", counter, states: ["passed", "failed"])
                #expect(run.jobs(ofStage: "run").first?["agent_uuid"] as? String == w2, "quick/\(counter) ran on the disabled agent")
            }
            // A heartbeat does not undo it, nor does a restart of the agent.
            try await Task.sleep(for: .seconds(2))
            #expect(try await api.get("/go/api/agents").text.contains("\"disabled\""))
            await cluster.workers["w1"]?.stop()
            try await cluster.startWorker(.init(name: "w1", slots: 2))
            #expect(try await cluster.agentUUID("w1") == w1)

            try await consumers(of: "relevo.jobs.default.any", are: 1, cluster)
            _ = try await api.request("PATCH", "/go/api/agents/\(w1)", body: #"{"agent_config_state": "Enabled"}"#)
            try await consumers(of: "relevo.jobs.default.any", are: 2, cluster)
            _ = try await api.request("PATCH", "/go/api/agents/\(w2)", body: #"{"agent_config_state": "Disabled"}"#)
            try await consumers(of: "relevo.jobs.default.any", are: 1, cluster)
            for counter in 5...7 {
                #expect(try await api.trigger("quick") == counter)
                let run = try await api.waitFor("quick", counter, states: ["passed", "failed"])
                #expect(run.jobs(ofStage: "run").first?["agent_uuid"] as? String == w1, "quick/\(counter) must run on w1 now")
            }

            #expect(try await api.request("PATCH", "/go/api/agents/no-such-uuid", body: #"{"agent_config_state": "Enabled"}"#).status == 404)
            #expect(try await api.request("PATCH", "/go/api/agents/\(w1)", body: #"{"agent_config_state": "Sleepy"}"#).status == 400)
        }
    }

    /// Waits until the broker counts `count` consumers on `queue` (a disabled worker stops consuming).
    private func consumers(of queue: String, are count: Int, _ cluster: RelevoCluster) async throws {
        try await eventually(30, "\(count) consumer(s) on \(queue)") {
            let queues = ((try? await cluster.api.get("/go/api/queues").json())?["_embedded"] as? [String: Any])?["queues"] as? [[String: Any]] ?? []
            return queues.first { $0["name"] as? String == queue }?["consumers"] as? Int == count
        }
    }
}
