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
            // The restarted agent hears it is disabled before it learns of any job queue.
            for counter in 5...7 {
                #expect(try await api.trigger("quick") == counter)
                let run = try await api.waitFor("quick", counter, states: ["passed", "failed"])
                #expect(run.jobs(ofStage: "run").first?["agent_uuid"] as? String == w2, "quick/\(counter) ran on the restarted disabled agent")
            }

            try await consumers(of: "relevo.jobs.default.any", are: 1, cluster)
            _ = try await api.request("PATCH", "/go/api/agents/\(w1)", body: #"{"agent_config_state": "Enabled"}"#)
            try await consumers(of: "relevo.jobs.default.any", are: 2, cluster)
            _ = try await api.request("PATCH", "/go/api/agents/\(w2)", body: #"{"agent_config_state": "Disabled"}"#)
            try await consumers(of: "relevo.jobs.default.any", are: 1, cluster)
            for counter in 8...10 {
                #expect(try await api.trigger("quick") == counter)
                let run = try await api.waitFor("quick", counter, states: ["passed", "failed"])
                #expect(run.jobs(ofStage: "run").first?["agent_uuid"] as? String == w1, "quick/\(counter) must run on w1 now")
            }

            #expect(try await api.request("PATCH", "/go/api/agents/no-such-uuid", body: #"{"agent_config_state": "Enabled"}"#).status == 404)
            #expect(try await api.request("PATCH", "/go/api/agents/\(w1)", body: #"{"agent_config_state": "Sleepy"}"#).status == 400)
        }
    }

    @Test func anAdministratorGivesAnAgentResourcesAndItFollowsTheirQueues() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "resources\n"])
            try cluster.writeConfig("rpm.gocd.yaml", """
            format_version: 10
            pipelines:
              package:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      jobs:
                        rpm:
                          resources: [rpmbuild]
                          tasks: [{exec: {command: /bin/echo, arguments: [packaged]}}]
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "plain", slots: 1))
            let uuid = try #require(try await cluster.agentUUID("plain"))
            let api = cluster.api
            let queue = "relevo.jobs.default.rpmbuild"
            try await consumers(of: queue, are: 0, cluster)

            // Refusals first: nothing changes.
            let wrongType = try await api.request("PATCH", "/go/api/agents/\(uuid)", body: #"{"resources": [1]}"#)
            #expect(wrongType.status == 400 && wrongType.text.contains("must be a list of names"), "\(wrongType.text)")
            #expect(try await api.request("PATCH", "/go/api/agents/\(uuid)", body: #"{"resources": ["no spaces"]}"#).status == 400)
            #expect(try await api.request("PATCH", "/go/api/agents/\(uuid)", body: "{}").status == 400)
            #expect(try await api.request("PATCH", "/go/api/agents/nobody", body: #"{"resources": ["rpmbuild"]}"#).status == 404)

            // GoCD's comma-separated form; the agent follows the rpmbuild queue and runs the job.
            let edit = try await api.request("PATCH", "/go/api/agents/\(uuid)", body: #"{"resources": "RPMbuild, linux"}"#)
            #expect(edit.status == 200)
            #expect(try edit.json()["resources"] as? [String] == ["linux", "rpmbuild"], "\(edit.text)")
            try await consumers(of: queue, are: 1, cluster)
            _ = try await api.trigger("package")
            var run = try await api.waitFor("package", 1, states: ["passed", "failed"])
            #expect(run["state"] as? String == "passed")
            let page = try await api.get("/agents").text
            #expect(page.contains("data-resources=\"linux, rpmbuild\"") && page.contains("(set here)"), "\(page)")

            // A restarted agent starts from its own (none) and is told again.
            await cluster.workers["plain"]?.stop()
            try await cluster.startWorker(.init(name: "plain", slots: 1))
            try await consumers(of: queue, are: 1, cluster)
            _ = try await api.trigger("package")
            run = try await api.waitFor("package", 2, states: ["passed", "failed"])
            #expect(run.jobs(ofStage: "build").first?["agent_uuid"] as? String == uuid)

            // null gives the agent back its own resources: it leaves the queue.
            let reset = try await api.request("PATCH", "/go/api/agents/\(uuid)", body: #"{"resources": null}"#)
            #expect(reset.status == 200)
            #expect(try reset.json()["resources"] as? [String] == [], "\(reset.text)")
            try await consumers(of: queue, are: 0, cluster)
            let agents = try await api.get("/agents").text
            #expect(agents.contains("data-resources=\"\""), "\(agents)")
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
