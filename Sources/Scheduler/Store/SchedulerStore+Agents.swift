import Foundation
import GRDB

/// The agents the scheduler knows of, and their heartbeats.
extension SchedulerStore {
    /// Records `agent`, replacing what was known of an agent with the same UUID.
    func register(_ agent: Agent) async throws(StoreError) {
        try await write("register agent \(agent.uuid)") { db in
            try db.execute(
                cached: """
                    INSERT INTO agents (uuid, name, resources, environments, state, last_heartbeat_at, current_job)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, resources = excluded.resources,
                        environments = excluded.environments,
                        state = CASE WHEN agents.state = 'disabled' THEN 'disabled' ELSE excluded.state END,
                        last_heartbeat_at = excluded.last_heartbeat_at, current_job = excluded.current_job
                    """,
                arguments: [
                    agent.uuid, agent.name, try JSONColumn.encode(agent.resources),
                    try JSONColumn.encode(agent.environments), agent.state.rawValue, agent.lastHeartbeatAt,
                    agent.currentJob,
                ])
        }
    }

    /// Records a heartbeat of agent `uuid`: when, what it is doing, which job it runs.
    ///
    /// - Throws: ``StoreError`` with code `notFound` for an agent never registered.
    func recordHeartbeat(of uuid: String, state: AgentState, currentJob: String?, at now: Date)
        async throws(StoreError)
    {
        try await write("heartbeat of agent \(uuid)") { db in
            try db.execute(
                cached: "UPDATE agents SET state = ?, current_job = ?, last_heartbeat_at = ? WHERE uuid = ?",
                arguments: [state.rawValue, currentJob, now, uuid])
            guard db.changesCount > 0 else {
                throw StoreError(code: .notFound, operation: "heartbeat", message: "no agent \(uuid)")
            }
        }
    }

    /// Sets agent `uuid`'s state, e.g. `lostContact` after a silence or `disabled` by an administrator.
    func setState(_ state: AgentState, ofAgent uuid: String) async throws(StoreError) {
        try await write("set state of agent \(uuid)") { db in
            try db.execute(cached: "UPDATE agents SET state = ? WHERE uuid = ?", arguments: [state.rawValue, uuid])
            guard db.changesCount > 0 else {
                throw StoreError(code: .notFound, operation: "set agent state", message: "no agent \(uuid)")
            }
        }
    }

    /// Sets the resources and environments an administrator gave agent `uuid`: `.some(nil)`
    /// clears one (the agent's own again), `nil` leaves it as it is.
    func configure(agent uuid: String, resources: [String]??, environments: [String]??) async throws(StoreError) {
        try await write("configure agent \(uuid)") { db in
            if let resources {
                try db.execute(cached: "UPDATE agents SET configured_resources = ? WHERE uuid = ?",
                               arguments: [try resources.map(JSONColumn.encode), uuid])
            }
            if let environments {
                try db.execute(cached: "UPDATE agents SET configured_environments = ? WHERE uuid = ?",
                               arguments: [try environments.map(JSONColumn.encode), uuid])
            }
            guard try Int.fetchOne(db, cached: "SELECT COUNT(*) FROM agents WHERE uuid = ?", arguments: [uuid]) == 1 else {
                throw StoreError(code: .notFound, operation: "configure agent", message: "no agent \(uuid)")
            }
        }
    }

    /// Every agent, by name.
    func agents() async throws(StoreError) -> [Agent] {
        try await read("list agents") { db in
            try Row.fetchAll(db, cached: "SELECT * FROM agents ORDER BY name, uuid").map(Self.agent(from:))
        }
    }

    /// Agents not heard of since `cutoff` (or never): the candidates for `lostContact`.
    func agents(silentSince cutoff: Date) async throws(StoreError) -> [Agent] {
        try await read("list silent agents") { db in
            try Row.fetchAll(
                db,
                cached: """
                    SELECT * FROM agents WHERE last_heartbeat_at IS NULL OR last_heartbeat_at < ?
                    ORDER BY name, uuid
                    """,
                arguments: [cutoff]
            ).map(Self.agent(from:))
        }
    }

    private static func agent(from row: Row) throws -> Agent {
        Agent(
            uuid: try row.value("uuid"), name: try row.value("name"), resources: try row.json("resources"),
            environments: try row.json("environments"), state: try row.enumValue("state"),
            lastHeartbeatAt: try row.value("last_heartbeat_at"), currentJob: try row.value("current_job"),
            configuredResources: try (row.value("configured_resources") as String?).map { try JSONColumn.decode([String].self, from: $0) },
            configuredEnvironments: try (row.value("configured_environments") as String?).map { try JSONColumn.decode([String].self, from: $0) })
    }
}

extension SchedulerStore {
    /// What the scheduler holds about an agent's identity.
    struct AgentCredentialRecord: Sendable, Equatable {
        var state: AgentState
        /// Hex credential, or nil while the agent has none (pending, or never registered).
        var credential: String?
        /// SHA-256 (hex) of the nonce of its pending registration, if any.
        var nonceHash: String?
    }

    /// The identity record of agent `uuid`, or nil for an agent never seen.
    func credentialRecord(of uuid: String) async throws(StoreError) -> AgentCredentialRecord? {
        try await read("read the credential of agent \(uuid)") { db in
            guard let row = try Row.fetchOne(db, cached: "SELECT state, credential, registration_nonce FROM agents WHERE uuid = ?",
                                             arguments: [uuid]) else { return nil }
            return AgentCredentialRecord(state: try row.enumValue("state"), credential: try row.value("credential"),
                                         nonceHash: try row.value("registration_nonce"))
        }
    }

    /// Registers agent `agent` (name, resources, environments): with `credential`, it is
    /// approved (idle, unless an administrator disabled it); without, it waits as pending for
    /// the registration with nonce hash `nonceHash`. A disabled agent stays disabled.
    func registerAgent(_ agent: Agent, credential: String?, nonceHash: String?) async throws(StoreError) {
        try await write("register agent \(agent.uuid)") { db in
            try db.execute(
                cached: """
                    INSERT INTO agents (uuid, name, resources, environments, state, last_heartbeat_at, current_job,
                        credential, registration_nonce)
                    VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?)
                    ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, resources = excluded.resources,
                        environments = excluded.environments,
                        state = CASE WHEN agents.state = 'disabled' THEN 'disabled' ELSE excluded.state END,
                        credential = excluded.credential, registration_nonce = excluded.registration_nonce
                    """,
                arguments: [
                    agent.uuid, agent.name, try JSONColumn.encode(agent.resources), try JSONColumn.encode(agent.environments),
                    (credential == nil ? AgentState.pending : AgentState.idle).rawValue, credential, nonceHash,
                ])
        }
    }

    /// Gives agent `uuid` its credential (an administrator approved it).
    func setCredential(_ credential: String, ofAgent uuid: String) async throws(StoreError) {
        try await write("set the credential of agent \(uuid)") { db in
            try db.execute(cached: "UPDATE agents SET credential = ? WHERE uuid = ?", arguments: [credential, uuid])
            guard db.changesCount > 0 else {
                throw StoreError(code: .notFound, operation: "set agent credential", message: "no agent \(uuid)")
            }
        }
    }
}
