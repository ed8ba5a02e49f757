import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The part of the scheduler's REST API the benchmark uses, decoded into typed values.
struct SchedulerAPI: Sendable {
    let base: String
    private let session: URLSession

    init(port: Int, host: String = "127.0.0.1") {
        base = "http://\(host):\(port)"
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 8
        configuration.timeoutIntervalForRequest = 30
        session = URLSession(configuration: configuration)
    }

    /// A pipeline instance as `GET /go/api/pipelines/:name/:counter` returns it.
    struct Instance: Decodable, Sendable {
        let name: String
        let counter: Int
        let state: String
        let result: String?
        let stages: [Stage]

        var isCompleted: Bool { ["passed", "failed", "cancelled"].contains(state) }
        var jobs: [Job] { stages.flatMap(\.jobs) }
    }

    struct Stage: Decodable, Sendable {
        let name: String
        let counter: Int
        let state: String
        let jobs: [Job]
    }

    struct Job: Decodable, Sendable {
        let name: String
        let runIndex: Int
        let state: String
        let result: String
        let attempt: Int
        let agentUuid: String?
        let scheduledAt: Date
        let assignedAt: Date?
        let startedAt: Date?
        let completedAt: Date?
    }

    private struct Scheduled: Decodable {
        let counter: Int
    }

    private struct Agents: Decodable {
        struct Embedded: Decodable { let agents: [Agent] }
        let _embedded: Embedded
    }

    /// An agent as `GET /go/api/agents` lists it.
    struct Agent: Decodable, Sendable {
        let uuid: String
        let hostname: String
        let agentState: String
    }

    /// A message the scheduler read from `relevo.dead`.
    struct DeadLetter: Decodable, Sendable {
        let kind: String
        let reason: String
        let outcome: String
    }

    private struct DeadLetters: Decodable {
        struct Embedded: Decodable { let deadLetters: [DeadLetter] }
        let _embedded: Embedded
    }

    func request(_ method: String, _ path: String, body: String? = nil) async throws -> (status: Int, body: Data) {
        guard let url = URL(string: base + path) else { throw BenchError("\(method) \(path)", "not a URL") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// Whether `GET /go/api/v1/health` answers 200.
    func isHealthy() async -> Bool {
        (try? await request("GET", "/go/api/v1/health").status) == 200
    }

    /// Schedules an instance pinned to `revisions` (material name → revision); returns its counter.
    func schedule(_ pipeline: String, revisions: [String: String]) async throws -> Int {
        let materials = revisions.sorted { $0.key < $1.key }
            .map { #"{"name":"\#($0.key)","revision":"\#($0.value)"}"# }.joined(separator: ",")
        let reply = try await request("POST", "/go/api/pipelines/\(pipeline)/schedule", body: #"{"materials":[\#(materials)]}"#)
        guard reply.status == 202 else {
            throw BenchError("schedule \(pipeline)", "HTTP \(reply.status): \(String(decoding: reply.body, as: UTF8.self))")
        }
        return try Self.decoder.decode(Scheduled.self, from: reply.body).counter
    }

    /// One instance, or nil while it does not exist.
    func instance(_ pipeline: String, _ counter: Int) async throws -> Instance? {
        let reply = try await request("GET", "/go/api/pipelines/\(pipeline)/\(counter)")
        guard reply.status == 200 else { return nil }
        return try Self.decoder.decode(Instance.self, from: reply.body)
    }

    /// Polls an instance every `interval` until it has completed; fails after `timeout`.
    /// `observe` sees every state read on the way.
    func waitForCompletion(_ pipeline: String, _ counter: Int, interval: Duration, timeout: Duration = .seconds(120),
                           observe: (Instance) -> Void = { _ in }) async throws -> Instance {
        let deadline = ContinuousClock.now + timeout
        var last: Instance?
        while ContinuousClock.now < deadline {
            if let instance = try await instance(pipeline, counter) {
                observe(instance)
                if instance.isCompleted { return instance }
                last = instance
            }
            try await Task.sleep(for: interval)
        }
        throw BenchError("wait for \(pipeline)/\(counter)", "not completed after \(timeout); last state: \(last?.state ?? "not created")")
    }

    /// Whether the scheduler knows pipeline `name` (its history answers 200, not 404).
    func knowsPipeline(_ name: String) async -> Bool {
        (try? await request("GET", "/go/api/pipelines/\(name)/history?page_size=1").status) == 200
    }

    /// The names of the registered agents.
    func agentNames() async throws -> [String] {
        try await agents().map(\.hostname)
    }

    /// The registered agents.
    func agents() async throws -> [Agent] {
        let reply = try await request("GET", "/go/api/agents")
        guard reply.status == 200 else { return [] }
        return try Self.decoder.decode(Agents.self, from: reply.body)._embedded.agents
    }

    /// Enables or disables an agent (GoCD's agent edit).
    func setAgent(_ uuid: String, enabled: Bool) async throws {
        let reply = try await request("PATCH", "/go/api/agents/\(uuid)",
                                      body: #"{"agent_config_state": "\#(enabled ? "Enabled" : "Disabled")"}"#)
        guard reply.status == 200 else {
            throw BenchError("\(enabled ? "enable" : "disable") agent \(uuid)", "HTTP \(reply.status): \(String(decoding: reply.body, as: UTF8.self))")
        }
    }

    /// What the scheduler read from `relevo.dead`.
    func deadLetters() async throws -> [DeadLetter] {
        let reply = try await request("GET", "/go/api/dead_letters")
        guard reply.status == 200 else { throw BenchError("list dead letters", "HTTP \(reply.status)") }
        return try Self.decoder.decode(DeadLetters.self, from: reply.body)._embedded.deadLetters
    }

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = parseTimestamp(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 date: \(text)"))
            }
            return date
        }
        return decoder
    }()
}

/// Server timestamps: ISO 8601 with milliseconds, or whole seconds from an older scheduler.
private func parseTimestamp(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)
}
