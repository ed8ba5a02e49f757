import Foundation
import Logging
import Shared
import Synchronization

/// The environments the config puts agents in (GoCD's environment `agents`, each a UUID or, as
/// a Relevo extension, an agent's name), on top of the agent's own or an administrator's.
final class DeclaredEnvironments: Sendable {
    private let byAgent = Mutex<[String: [String]]>([:])

    /// Reads `environments`; returns the agents (UUIDs or names, lower-cased) whose set changed.
    func set(from environments: [EnvironmentDefinition]) -> Set<String> {
        var next: [String: [String]] = [:]
        for environment in environments {
            for agent in environment.agents {
                next[agent.lowercased(), default: []].append(environment.name.lowercased())
            }
        }
        next = next.mapValues { Array(Set($0)).sorted() }
        return byAgent.withLock { current in
            let changed = Set(current.keys).union(next.keys).filter { current[$0] != next[$0] }
            current = next
            return changed
        }
    }

    /// The environments the config declares for `agent`.
    func of(_ agent: Agent) -> [String] {
        byAgent.withLock { Array(Set(($0[agent.uuid.lowercased()] ?? []) + ($0[agent.name.lowercased()] ?? []))).sorted() }
    }
}

/// The agents as the scheduler knows them: heartbeats register them and keep them alive, an
/// administrator enables, disables or reconfigures them (and the agent is told, again and again
/// until its heartbeats show it), and the reconcile pass marks silent ones as lost.
struct AgentRegistry: Sendable {
    let store: SchedulerStore
    let publisher: any MessagePublisher
    let logger: Logger
    /// The credentials that sign agents' events.
    let credentials: AgentCredentials
    /// GoCD's auto-register key; nil: every new agent waits for approval.
    let registrationKey: String?
    /// What the config's environments say about agents.
    let declared = DeclaredEnvironments()

    init(store: SchedulerStore, publisher: any MessagePublisher, logger: Logger, registrationKey: String? = nil) {
        self.store = store
        self.publisher = publisher
        self.logger = logger
        self.registrationKey = registrationKey
        self.credentials = AgentCredentials(store: store)
    }

    /// What became of a registration.
    enum Registration: Sendable, Equatable {
        /// The agent's credential: it signs its events with it.
        case approved(credential: String)
        /// Waiting for an administrator to approve the agent.
        case pending
    }

    /// Registers an agent (GoCD's agent registration). With the right registration key it is
    /// approved at once, with a new credential. Without one it waits as pending; once an
    /// administrator approves it, the registration with the same `nonce` (only the agent that
    /// registered knows it) gets the credential. An agent that has a credential already is not
    /// taken over without the key.
    func register(_ agent: Agent, key: String?, nonce: String) async throws -> Registration {
        if let key {
            guard let registrationKey, SHA256.constantTimeEquals(key, registrationKey) else {
                logger.warning("agent registration refused: wrong registration key", metadata: ["agent": "\(agent.name)", "uuid": "\(agent.uuid)"])
                throw SchedulerEngine.RequestError(code: .forbidden, description: registrationKey == nil
                    ? "this server takes no registration key: agents wait for an administrator's approval (register without one)"
                    : "the registration key is wrong")
            }
            let credential = AgentCredentials.make()
            try await store.registerAgent(agent, credential: credential, nonceHash: nil)
            await credentials.changed(agent.uuid)
            logger.info("agent registered", metadata: ["agent": "\(agent.name)", "uuid": "\(agent.uuid)"])
            return .approved(credential: credential)
        }
        let nonceHash = SHA256.hex(of: Array(nonce.utf8))
        if let record = try await store.credentialRecord(of: agent.uuid) {
            if record.nonceHash == nonceHash {
                if let credential = record.credential { return .approved(credential: credential) }
                return .pending
            }
            if record.credential != nil {
                throw SchedulerEngine.RequestError(code: .conflict, description:
                    "agent \(agent.uuid) is registered already; register it with the registration key, or ask an administrator")
            }
        }
        try await store.registerAgent(agent, credential: nil, nonceHash: nonceHash)
        logger.notice("agent waits for approval", metadata: ["agent": "\(agent.name)", "uuid": "\(agent.uuid)"])
        return .pending
    }

    /// Records a heartbeat of `agent`, busy with `busyJobs`. A disabled or reconfigured agent is
    /// told again until it shows it (it may have restarted since, or missed the message).
    func heartbeat(_ agent: AgentIdentity, busyJobs: [JobRunID]) async throws(StoreError) {
        try await store.register(Agent(uuid: agent.uuid, name: agent.name, resources: agent.resources,
                                       environments: agent.environments, state: busyJobs.isEmpty ? .idle : .building,
                                       lastHeartbeatAt: Date(), currentJob: busyJobs.first?.description))
        guard let known = try await store.agents().first(where: { $0.uuid == agent.uuid }) else { return }
        if known.state == .disabled || known.configuredResources != agent.appliedResources
            || controlEnvironments(known) != agent.appliedEnvironments {
            await sendControl(known)
        }
    }

    /// GoCD's agent edit: enable/disable (a disabled agent takes no job; its running jobs
    /// finish) and resources/environments, which the agent then takes instead of its own and
    /// follows the job queues they qualify for. `nil` leaves a field as it is; `.some(nil)`
    /// gives the agent back its own resources or environments.
    func update(_ uuid: String, enabled: Bool?, resources: [String]??, environments: [String]??) async throws -> Agent {
        guard let agent = try await store.agents().first(where: { $0.uuid == uuid }) else {
            throw SchedulerEngine.RequestError(code: .notFound, description: "no agent \(uuid)")
        }
        if let enabled, enabled != (agent.state != .disabled && agent.state != .pending) {
            try await store.setState(enabled ? .idle : .disabled, ofAgent: uuid)
            logger.info(enabled ? "agent enabled" : "agent disabled", metadata: ["agent": "\(agent.name)", "uuid": "\(uuid)"])
        }
        // Approval: an agent enabled for the first time gets its credential (handed over at its
        // next registration with its own nonce).
        if enabled == true, try await store.credentialRecord(of: uuid)?.credential == nil {
            try await store.setCredential(AgentCredentials.make(), ofAgent: uuid)
            await credentials.changed(uuid)
            logger.info("agent approved", metadata: ["agent": "\(agent.name)", "uuid": "\(uuid)"])
        }
        let normalizedResources = resources.map { $0.map(JobDefinition.normalizedResources) }
        let normalizedEnvironments = environments.map { $0.map { $0.map { $0.lowercased() }.sorted() } }
        if resources != nil || environments != nil {
            try await store.configure(agent: uuid, resources: normalizedResources, environments: normalizedEnvironments)
            logger.info("agent configured", metadata: ["agent": "\(agent.name)", "uuid": "\(uuid)",
                                                       "resources": "\(normalizedResources.map { $0.map(\.description) ?? "its own" } ?? "unchanged")",
                                                       "environments": "\(normalizedEnvironments.map { $0.map(\.description) ?? "its own" } ?? "unchanged")"])
        }
        let updated = try await store.agents().first(where: { $0.uuid == uuid }) ?? agent
        await sendControl(updated)
        return updated
    }

    /// Tells the agent what an administrator set: enabled or not, and its resources and
    /// environments if they were set. Sent on the catalogue exchange, ahead of any catalogue, so
    /// a restarted agent knows it is disabled before it learns of any job queue.
    func sendControl(_ agent: Agent) async {
        let control = AgentControl(uuid: agent.uuid, enabled: agent.state != .disabled,
                                   resources: agent.configuredResources, environments: controlEnvironments(agent))
        do {
            try await publisher.publish(MessageCodec.encode(control), exchange: QueueCatalog.catalogExchange,
                                        routingKey: "", properties: MessageProperties(contentType: "application/json", type: AgentControl.messageType))
        } catch {
            logger.warning("agent control not sent", metadata: ["uuid": "\(agent.uuid)", "error": "\(error)"])
        }
    }

    /// The environments an agent is told to take: an administrator's (or its own) plus the
    /// config's; nil when neither an administrator nor the config says anything.
    func controlEnvironments(_ agent: Agent) -> [String]? {
        let declared = declared.of(agent)
        guard !declared.isEmpty else { return agent.configuredEnvironments }
        return Array(Set((agent.configuredEnvironments ?? agent.environments) + declared)).sorted()
    }

    /// Takes the config's environment `agents` and tells each agent whose environments changed.
    func apply(environments: [EnvironmentDefinition]) async {
        let changed = declared.set(from: environments)
        guard !changed.isEmpty else { return }
        do {
            for agent in try await store.agents() where changed.contains(agent.uuid.lowercased()) || changed.contains(agent.name.lowercased()) {
                logger.info("agent environments from the config", metadata: ["agent": "\(agent.name)", "environments": "\(declared.of(agent))"])
                await sendControl(agent)
            }
        } catch {
            logger.warning("agents not told of the config's environments", metadata: ["error": "\(error)"])
        }
    }

    /// Marks the agents silent since `cutoff` (neither lost nor disabled already) as lost.
    func markSilent(since cutoff: Date) async {
        do {
            for agent in try await store.agents(silentSince: cutoff)
            where agent.state != .lostContact && agent.state != .disabled && agent.state != .pending {
                try await store.setState(.lostContact, ofAgent: agent.uuid)
                logger.warning("agent lost contact", metadata: ["agent": "\(agent.name)", "uuid": "\(agent.uuid)"])
            }
        } catch {
            logger.warning("agent check failed", metadata: ["error": "\(error)"])
        }
    }
}
