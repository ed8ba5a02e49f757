import Foundation
import Shared
import Testing

/// Only an agent's own signed events count. Anyone who can publish to the broker could before
/// forge a "passed" for any job; agents register with the registration key or wait for an
/// administrator's approval, and get a credential that signs their events.
@Suite(.serialized, .timeLimit(.minutes(3))) struct AgentIdentityTests {
    @Test func forgedEventsAreRefusedAndTheRealResultStands() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeUnfetchedPipeline("prod", stage: "deploy", jobs: [("only", "tasks: [{exec: {command: /bin/false}}]")])
            try await cluster.startScheduler()
            #expect(try await cluster.api.post("/go/api/pipelines/prod/schedule", body: RelevoCluster.pinnedSchedule).status == 202)
            // No worker yet: a forger publishes "started" and "passed" for the job, unsigned,
            // then signed with a key of its own under a made-up agent, then under a real
            // agent's UUID (registered below) with the wrong key.
            let job = JobAttempt(jobRunID: JobRunID(pipeline: "prod", pipelineCounter: 1, stage: "deploy", job: "only"), attempt: 1)
            let fake = AgentIdentity(uuid: UUID().uuidString.lowercased(), name: "forger", resources: [], environments: [], slots: 1)
            let client = try await AMQPClient.connect(try AMQPSettings(url: cluster.brokerURL, connectionName: "test:forger"))
            func publish(_ event: WorkerEvent, signedAs agent: String?, key: [UInt8]) async throws {
                let body = MessageCodec.encodeEvent(event)
                var headers: [String: AMQPValue] = [:]
                if let agent {
                    headers[EventSignature.agentHeader] = .string(agent)
                    headers[EventSignature.signatureHeader] = .string(EventSignature.sign(body, credential: key))
                }
                try await client.publish(body, exchange: QueueCatalog.eventsExchange, routingKey: event.routingKey,
                                         properties: MessageProperties(contentType: "application/json", headers: headers))
            }
            let key = [UInt8](repeating: 7, count: 32)
            for signer in [nil, fake.uuid] {
                try await publish(.started(job, agent: fake), signedAs: signer, key: key)
                try await publish(.finished(job, result: .passed, agent: fake.uuid), signedAs: signer, key: key)
            }
            try await eventually(20, "the four forged events dead-lettered") {
                try await cluster.api.deadLetters().filter { ($0["reason"] as? String ?? "").hasPrefix("unauthenticated") }.count == 4
            }
            let reasons = try await cluster.api.deadLetters().compactMap { $0["reason"] as? String }
            #expect(reasons.contains("unauthenticated: the event is not signed by an agent"))
            #expect(reasons.contains("unauthenticated: agent \(fake.uuid) has no credential (not registered, or not approved)"))
            let waiting = try #require(try await cluster.api.instance("prod", 1))
            #expect(waiting["state"] as? String == "building")
            #expect(waiting.jobs(ofStage: "deploy").first?["state"] as? String == "scheduled")

            // A real agent runs the job: /bin/false fails it, whatever was forged.
            try await cluster.startWorker(.init(name: "real"))
            let real = try #require(try await cluster.agentUUID("real"))
            try await publish(.finished(job, result: .passed, agent: real), signedAs: real, key: key)
            let run = try await cluster.api.waitFor("prod", 1, states: ["passed", "failed"], seconds: 60)
            #expect(run["state"] as? String == "failed")
            try await eventually(20, "the event forged under the real agent's UUID dead-lettered") {
                try await cluster.api.deadLetters().contains { $0["reason"] as? String == "unauthenticated: the signature is not agent \(real)'s" }
            }
            await client.close()
        }
    }

    @Test func anAgentWithoutTheKeyWaitsForApproval() async throws {
        try await RelevoCluster.with { cluster in
            try await cluster.startScheduler()
            let uuid = UUID().uuidString.lowercased()
            let nonce = String(repeating: "a1", count: 20)
            func register(key: String?, nonce: String) async throws -> (status: Int, body: [String: Any]) {
                var body: [String: Any] = ["uuid": uuid, "hostname": "newcomer", "resources": ["linux"], "environments": [], "nonce": nonce]
                if let key { body["registration_key"] = key }
                let reply = try await cluster.api.post("/go/api/agents/register",
                                                       body: String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
                return (reply.status, (try? reply.json()) ?? [:])
            }
            #expect(try await register(key: "wrong-wrong-wrong-wrong", nonce: nonce).status == 403)
            let pending = try await register(key: nil, nonce: nonce)
            #expect(pending.status == 202 && pending.body["state"] as? String == "pending" && pending.body["credential"] == nil)
            let listed = try await cluster.api.get("/go/api/agents").json()
            let agents = (listed["_embedded"] as? [String: Any])?["agents"] as? [[String: Any]] ?? []
            #expect(agents.first { $0["uuid"] as? String == uuid }?["agent_state"] as? String == "pending")
            // Approved by an administrator: the agent that asked (same nonce) gets its credential;
            // anyone else asking for that UUID does not.
            let approve = try await cluster.api.request("PATCH", "/go/api/agents/\(uuid)", body: #"{"agent_config_state": "Enabled"}"#)
            #expect(approve.status == 200)
            let approved = try await register(key: nil, nonce: nonce)
            #expect(approved.status == 200 && (approved.body["credential"] as? String)?.count == 64)
            #expect(try await register(key: nil, nonce: String(repeating: "b2", count: 20)).status == 409)
        }
    }
}
