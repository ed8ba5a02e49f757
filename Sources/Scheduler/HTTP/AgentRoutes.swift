import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Shared

/// Agents (list, GoCD's PATCH to enable, disable or give resources and environments), the job
/// queues as the broker reports them, and the messages that were dead-lettered.
struct AgentRoutes {
    let engine: SchedulerEngine
    let logger: Logger

    func register(on router: Router<RelevoRequestContext>) {
        // Messages read from relevo.dead, newest first, with what the scheduler did about each.
        router.get("/go/api/dead_letters") { request, _ in
            let limit = try request.uri.queryParameters["limit"].map { try APIRoutes.positive(String($0), "limit") } ?? 100
            let records = try await engine.queries.deadLetters(limit: min(limit, 1000)).map(DeadLetterJSON.init)
            return APIRoutes.json(Embedded(key: "dead_letters", items: records, extra: [:]))
        }

        // An agent registers (open: the registration key, or an administrator's approval,
        // decides): 200 with its credential, or 202 while it waits for approval.
        router.post("/go/api/agents/register") { request, _ in
            guard let body = try await APIRoutes.decodeBody(AgentRegistrationRequest.self, from: request, allowEmpty: false) else {
                throw APIError(.badRequest, "expected {\"uuid\", \"hostname\", \"resources\", \"environments\", \"nonce\", \"registration_key\"?}")
            }
            guard UUID(uuidString: body.uuid) != nil else { throw APIError(.badRequest, "uuid '\(body.uuid)' is not a UUID") }
            guard !body.hostname.trimmingCharacters(in: .whitespaces).isEmpty, body.hostname.count <= 255 else {
                throw APIError(.badRequest, "hostname must be 1–255 characters")
            }
            guard body.nonce.count >= 32, body.nonce.count <= 256 else { throw APIError(.badRequest, "nonce must be 32–256 characters") }
            let agent = Agent(uuid: body.uuid.lowercased(), name: body.hostname, resources: JobDefinition.normalizedResources(body.resources ?? []),
                              environments: (body.environments ?? []).map { $0.lowercased() }.sorted())
            switch try await engine.agents.register(agent, key: body.registration_key, nonce: body.nonce) {
            case .approved(let credential):
                return APIRoutes.json(AgentRegistrationJSON(uuid: agent.uuid, state: "approved", credential: credential, message: nil))
            case .pending:
                return APIRoutes.json(AgentRegistrationJSON(uuid: agent.uuid, state: "pending", credential: nil,
                                                            message: "agent \(agent.name) (\(agent.uuid)) waits for an administrator to approve it"),
                                      status: .accepted)
            }
        }

        router.get("/go/api/queues") { _, _ in
            let queues = await engine.queueStatuses().map(QueueJSON.init)
            return APIRoutes.json(Embedded(key: "queues", items: queues, extra: [:]))
        }

        // GoCD's agent update (admins): {"agent_config_state": "Enabled" | "Disabled",
        // "resources": ["linux", …] or "linux,rpm", "environments": [...]}, any of them; a null
        // resources or environments gives the agent back its own.
        router.patch("/go/api/agents/:uuid") { request, context in
            let uuid = try context.parameters.require("uuid")
            let usage = "expected {\"agent_config_state\": \"Enabled\" or \"Disabled\", \"resources\": [...], \"environments\": [...]} (any of them)"
            guard let body = try await APIRoutes.decodeBody(AgentUpdateRequest.self, from: request, allowEmpty: false),
                  body.agent_config_state != nil || body.resources != nil || body.environments != nil else {
                throw APIError(.badRequest, usage)
            }
            var enabled: Bool?
            if let state = body.agent_config_state {
                guard ["enabled", "disabled"].contains(state.lowercased()) else { throw APIError(.badRequest, usage) }
                enabled = state.lowercased() == "enabled"
            }
            let named = [body.resources, body.environments].compactMap { $0 ?? nil }.flatMap { $0 }
            for name in named where !ConfigName.isValid(name) {
                throw APIError(.badRequest, "'\(name)' is not a valid resource or environment name (letters, digits, '-', '_', '.')")
            }
            let agent = try await engine.agents.update(uuid, enabled: enabled, resources: body.resources, environments: body.environments)
            return APIRoutes.json(AgentJSON(agent))
        }

        router.get("/go/api/agents") { _, _ in
            let agents = try await engine.queries.agents()
            return APIRoutes.json(Embedded(key: "agents", items: agents.map(AgentJSON.init), extra: [:]))
        }
    }
}

struct AgentRegistrationRequest: Decodable {
    let uuid: String
    let hostname: String
    let resources: [String]?
    let environments: [String]?
    let nonce: String
    let registration_key: String?
}

struct AgentRegistrationJSON: Encodable {
    let uuid: String
    let state: String
    let credential: String?
    let message: String?
}
