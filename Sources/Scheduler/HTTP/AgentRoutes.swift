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

        // An agent fetches the secure variables of a job it holds (they are not in job messages:
        // see JobSecretsRequest). Authenticated by the agent's signature, not by a user's token.
        router.post("/go/api/agents/job_secrets") { request, _ in
            try await jobSecrets(request)
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
            return APIRoutes.json(AgentJSON(agent, declaredEnvironments: engine.agents.declared.of(agent)))
        }

        router.get("/go/api/agents") { _, _ in
            let agents = try await engine.queries.agents()
            let declared = engine.agents.declared
            return APIRoutes.json(Embedded(key: "agents", items: agents.map { AgentJSON($0, declaredEnvironments: declared.of($0)) }, extra: [:]))
        }
    }

    /// How long an agent's request waits for the scheduler to record that the agent holds the
    /// job: the agent asks right after its `accepted` event was confirmed by the broker, which
    /// the scheduler applies within milliseconds unless it is busy.
    static let holderPatience: Duration = .seconds(10)

    private func jobSecrets(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 << 10)
        let bytes = Array(body.readableBytesView)
        guard let secretsRequest = try? JSONDecoder().decode(JobSecretsRequest.self, from: Data(bytes)) else {
            throw APIError(.badRequest, "expected {\"agent\", \"jobRunID\", \"attempt\", \"sentAt\"}, signed in \(JobSecretsRequest.signatureHeader)")
        }
        let attempt = secretsRequest.jobAttempt
        let refuse = { (status: HTTPResponse.Status, reason: String) -> Response in
            logger.warning("secure variables refused", metadata: ["agent": "\(secretsRequest.agent)", "job": "\(attempt)", "reason": "\(reason)"])
            return APIRoutes.json(MessageJSON(message: reason), status: status)
        }
        guard let signature = request.headers[HTTPField.Name(JobSecretsRequest.signatureHeader)!],
              let credential = await engine.agents.credentials.credential(of: secretsRequest.agent),
              SHA256.constantTimeEquals(EventSignature.sign(bytes, credential: credential), signature) else {
            return refuse(.unauthorized, "the request is not signed by agent \(secretsRequest.agent) (unknown, not approved, or a wrong signature)")
        }
        let skew = abs(Int(Date().timeIntervalSince1970) - secretsRequest.sentAt)
        guard skew <= JobSecretsRequest.maximumSkewSeconds else {
            return refuse(.unauthorized, "the request was made \(skew) s from the scheduler's clock (at most \(JobSecretsRequest.maximumSkewSeconds) s)")
        }
        let deadline = ContinuousClock.now + Self.holderPatience
        while true {
            switch await engine.secrets(for: attempt, agent: secretsRequest.agent) {
            case .granted(let secrets):
                logger.debug("job secrets served", metadata: ["agent": "\(secretsRequest.agent)", "job": "\(attempt)",
                                                              "variables": "\(secrets.environmentVariables.count)"])
                var headers = HTTPFields()
                headers[.contentType] = "application/json; charset=utf-8"
                headers[.cacheControl] = "no-store"
                let reply = MessageCodec.encode(secrets)
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply)))
            case .heldByAnother(let reason):
                return refuse(.forbidden, reason)
            case .gone(let reason):
                return refuse(.conflict, reason)
            case .unresolvable(let reason):
                return refuse(.unprocessableContent, reason)
            case .notYetHeld:
                guard ContinuousClock.now < deadline else {
                    return refuse(.conflict, "agent \(secretsRequest.agent) does not hold attempt \(attempt.attempt) of \(attempt.jobRunID)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
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
