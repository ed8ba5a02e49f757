import Foundation
import Shared

/// A whole Relevo on this machine for one test: a virtual host of its own on the test broker
/// (so queues never clash with other tests), a scheduler and workers as real processes, config
/// files and data in a temporary folder. Everything is stopped and removed afterwards.
final class RelevoCluster: @unchecked Sendable {
    // @unchecked: the processes dictionary is only changed by the owning test, one call at a time.
    let root: URL
    let brokerURL: String
    /// The URL workers connect with: ``brokerURL`` unless the test gives workers a user of their own.
    let workerBrokerURL: String
    let virtualHost: String?
    /// The address the scheduler listens on and workers reach it at.
    let host: String
    /// The broker's management API the scheduler reads (the shared test broker's by default).
    let managementURL: String?
    let port: Int
    let api: RelevoAPI
    private(set) var scheduler: RelevoProcess?
    private(set) var workers: [String: RelevoProcess] = [:]

    struct WorkerSpec {
        var name: String
        var resources: [String] = []
        var environments: [String] = []
        var slots = 1
        /// The test host (``TestHosts``) the worker runs on; this machine's network when nil.
        var namespace: String?
    }

    var configDirectory: URL { root.appendingPathComponent("config") }

    private init(root: URL, brokerURL: String, workerBrokerURL: String? = nil, virtualHost: String?, host: String = "127.0.0.1",
                 managementURL: String? = nil, port: Int) {
        self.root = root
        self.brokerURL = brokerURL
        self.workerBrokerURL = workerBrokerURL ?? brokerURL
        self.virtualHost = virtualHost
        self.host = host
        self.managementURL = virtualHost != nil ? TestBroker.managementURL : managementURL
        self.port = port
        self.api = RelevoAPI(base: "http://\(host):\(port)")
    }

    /// With `privateBrokerURL`, the cluster uses that broker's default virtual host instead of a
    /// virtual host of its own on the shared test broker; workers use `workerBrokerURL` if given.
    /// `host`: the address the scheduler listens on (a ``TestHosts`` server address).
    static func with<T>(privateBrokerURL: String? = nil, workerBrokerURL: String? = nil, host: String = "127.0.0.1",
                        managementURL: String? = nil, _ body: (RelevoCluster) async throws -> T) async throws -> T {
        let id = UUID().uuidString.prefix(8).lowercased()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-cluster-\(id)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("config"), withIntermediateDirectories: true)
        let cluster: RelevoCluster
        if let privateBrokerURL {
            cluster = RelevoCluster(root: root, brokerURL: privateBrokerURL, workerBrokerURL: workerBrokerURL, virtualHost: nil,
                                    host: host, managementURL: managementURL, port: freePort())
        } else {
            let virtualHost = "relevo-test-\(id)"
            try await brokerControl(["add_vhost", virtualHost])
            try await brokerControl(["set_permissions", "-p", virtualHost, "guest", ".*", ".*", ".*"])
            let shared = try TestBroker.sharedURL()
            let base = shared.components(separatedBy: "/").prefix(3).joined(separator: "/")
            cluster = RelevoCluster(root: root, brokerURL: "\(base)/\(virtualHost)", virtualHost: virtualHost, port: freePort())
        }
        do {
            let result = try await body(cluster)
            await cluster.tearDown()
            return result
        } catch {
            cluster.dumpLogs()
            await cluster.tearDown()
            throw error
        }
    }

    /// Writes a pipeline file into the config directory.
    func writeConfig(_ name: String, _ text: String) throws {
        try text.write(to: configDirectory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// Writes `<pipeline>.gocd.yaml`: one stage `stage` whose jobs are `jobs` (name → the job's
    /// YAML body, indented from 0), and a git material that is never fetched; schedule it with
    /// ``pinnedSchedule`` as the body.
    func writeUnfetchedPipeline(_ pipeline: String, stage: String, jobs: [(name: String, body: String)]) throws {
        var lines = ["format_version: 10", "pipelines:", "  \(pipeline):", "    materials:",
                     "      src: {git: \"file:///nonexistent\", auto_update: false}", "    stages:", "      - \(stage):",
                     "          fetch_materials: false", "          jobs:"]
        for job in jobs {
            lines.append("            \(job.name):")
            lines += job.body.split(separator: "\n").map { "              " + $0 }
        }
        try writeConfig("\(pipeline).gocd.yaml", lines.joined(separator: "\n") + "\n")
    }

    /// The schedule body that pins ``writeUnfetchedPipeline(_:stage:jobs:)``'s material.
    static let pinnedSchedule = #"{"materials": [{"name": "src", "revision": "0000000000000000000000000000000000000000"}]}"#

    /// Registers an agent the test plays itself (with the test registration key): its identity
    /// and the credential its events must be signed with (see ``publishSigned``).
    func registerPlayedAgent(name: String) async throws -> (identity: AgentIdentity, credential: [UInt8]) {
        let identity = AgentIdentity(uuid: UUID().uuidString.lowercased(), name: name, resources: [], environments: [], slots: 1)
        let body: [String: Any] = ["uuid": identity.uuid, "hostname": name, "resources": [String](), "environments": [String](),
                                   "nonce": String(repeating: "0", count: 32), "registration_key": testRegistrationKey]
        let reply = try await api.post("/go/api/agents/register", body: String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
        guard reply.status == 200, let text = try reply.json()["credential"] as? String, let credential = EventSignature.credential(fromHex: text) else {
            throw TestSetupError("registering played agent \(name): HTTP \(reply.status) \(reply.text)")
        }
        return (identity, credential)
    }

    /// Publishes `event` as the played agent `agent` would: signed with its credential.
    static func publishSigned(_ event: WorkerEvent, by agent: (identity: AgentIdentity, credential: [UInt8]), on client: AMQPClient) async throws {
        let body = MessageCodec.encodeEvent(event)
        let headers: [String: AMQPValue] = [EventSignature.agentHeader: .string(agent.identity.uuid),
                                            EventSignature.signatureHeader: .string(EventSignature.sign(body, credential: agent.credential))]
        try await client.publish(body, exchange: QueueCatalog.eventsExchange, routingKey: event.routingKey,
                                 properties: MessageProperties(contentType: "application/json", headers: headers))
    }

    func startScheduler(_ extraArguments: [String] = []) async throws {
        // The broker URL (with its password) in the environment, as scripts/run passes it: on no command line.
        let process = try RelevoProcess.start("relevo-scheduler", name: "scheduler", arguments: [
            "serve", "--data-dir", root.appendingPathComponent("data").path,
            "--config-dir", configDirectory.path, "--host", host, "--port", String(port), "--server-url", "http://\(host):\(port)/go",
            "--poll-seconds", "1",
        ] + (managementURL.map { ["--broker-management-url", $0] } ?? []) + extraArguments,
            logDirectory: root, environment: ["RELEVO_BROKER_URL": brokerURL])
        scheduler = process
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let reply = try? await api.get("/go/api/v1/health"), reply.status == 200 { return }
            guard process.isRunning else { throw TestSetupError("the scheduler exited:\n\(process.log)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("the scheduler did not answer within 60 s:\n\(process.log)")
    }

    func stopScheduler(kill: Bool = false) async {
        if kill { scheduler?.kill() } else { await scheduler?.stop() }
    }

    /// Starts a worker and waits until the scheduler lists it as an agent.
    @discardableResult
    func startWorker(_ spec: WorkerSpec) async throws -> RelevoProcess {
        let workDirectory = root.appendingPathComponent("agents/\(spec.name)")
        let process = try RelevoProcess.start("relevo-worker", name: spec.name, arguments: [
            "--name", spec.name, "--resources", spec.resources.joined(separator: ","),
            "--environments", spec.environments.joined(separator: ","), "--slots", String(spec.slots),
            "--work-dir", workDirectory.path, "--server-url", "http://\(host):\(port)/go",
        ], logDirectory: root, namespace: spec.namespace, environment: ["RELEVO_BROKER_URL": workerBrokerURL])
        workers[spec.name] = process
        try await eventually(60, "agent \(spec.name) to register") {
            guard process.isRunning else { throw TestSetupError("worker \(spec.name) exited:\n\(process.log)") }
            return try await self.agentUUID(spec.name) != nil
        }
        return process
    }

    /// Takes a worker started by the test itself, so that it is stopped with the cluster.
    func adopt(_ process: RelevoProcess) {
        workers[process.name] = process
    }

    /// The UUID the scheduler knows agent `name` by.
    func agentUUID(_ name: String) async throws -> String? {
        let reply = try await api.get("/go/api/agents")
        guard reply.status == 200 else { return nil }
        let agents = (try reply.json()["_embedded"] as? [String: Any])?["agents"] as? [[String: Any]] ?? []
        return agents.first { $0["hostname"] as? String == name }?["uuid"] as? String
    }

    private func tearDown() async {
        for worker in workers.values { await worker.stop(grace: .seconds(10)) }
        await scheduler?.stop()
        if let virtualHost {
            do { try await Self.brokerControl(["delete_vhost", virtualHost]) } catch {
                print("could not delete vhost \(virtualHost): \(error)")
            }
        }
        try? FileManager.default.removeItem(at: root)
    }

    private func dumpLogs() {
        for process in [scheduler].compactMap({ $0 }) + workers.values.sorted(by: { $0.name < $1.name }) {
            print("===== \(process.name) log (last 60 lines) =====")
            print(process.log.split(separator: "\n").suffix(60).joined(separator: "\n"))
        }
    }

    /// `rabbitmqctl` on the shared test broker; returns what it printed.
    @discardableResult
    static func brokerControl(_ arguments: [String]) async throws -> String {
        guard let directory = ProcessInfo.processInfo.environment["RELEVO_TEST_BROKER_DIR"] else {
            throw TestSetupError("RELEVO_TEST_BROKER_DIR is not set: run the tests with scripts/test")
        }
        return try await PrivateBroker.run(["ctl", "--dir", directory, "--"] + arguments)
    }
}
