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
