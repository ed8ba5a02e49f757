import Foundation
import Shared
import Testing

/// The broker the test command started (`scripts/test` exports its URL), and private brokers for
/// tests that stop and restart one.
enum TestBroker {
    /// The project's root folder, found from this file's path.
    static let projectRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("no Package.swift above \(#filePath)")
    }()

    /// The shared broker's URL; the test command provides it.
    static func sharedURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["RELEVO_TEST_AMQP_URL"], !url.isEmpty else {
            throw TestSetupError("RELEVO_TEST_AMQP_URL is not set: run the tests with scripts/test, which starts a broker")
        }
        return url
    }

    /// The shared broker's management API (scripts/test starts it with the plugin), or nil.
    static var managementURL: String? {
        ProcessInfo.processInfo.environment["RELEVO_TEST_MANAGEMENT_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Settings for the shared broker, with a connection name that shows up in `rabbitmqctl`.
    static func settings(_ name: String, heartbeat: Int? = nil) throws -> AMQPSettings {
        var settings = try AMQPSettings(url: sharedURL(), connectionName: "test:\(name)")
        if let heartbeat { settings.heartbeatSeconds = heartbeat }
        return settings
    }

    /// A name no other test uses, e.g. for a queue.
    static func uniqueName(_ prefix: String) -> String {
        "relevo.test.\(prefix).\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// A RabbitMQ node of a test's own, started by `scripts/broker` in a temporary folder.
final class PrivateBroker: Sendable {
    let directory: String
    let url: String

    private init(directory: String, url: String) {
        self.directory = directory
        self.url = url
    }

    /// Starts a node on free ports and runs `body` with it; the node is stopped and its folder
    /// removed afterwards, whatever `body` did.
    /// `host`: the address AMQP listens on (a ``TestHosts`` server address), loopback by default.
    /// `tls`: a folder with `server.pem` and `server.key` (``TestCertificates``): the node also
    /// listens for amqps on its AMQP port + 1.
    static func with<T>(host: String? = nil, tls: String? = nil, _ body: (PrivateBroker) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("relevo-test-broker-\(UUID().uuidString.prefix(8))").path
        let output = try await run(["start", "--dir", directory, "--port", "auto"] + (host.map { ["--host", $0] } ?? [])
                                   + (tls.map { ["--tls", $0] } ?? []))
        let broker = PrivateBroker(directory: directory, url: output.trimmingCharacters(in: .whitespacesAndNewlines))
        do {
            let result = try await body(broker)
            await broker.destroy()
            return result
        } catch {
            await broker.destroy()
            throw error
        }
    }

    /// Stops the node (SIGTERM, or SIGKILL with `kill`); its data stays for `start`.
    func stop(kill: Bool = false) async throws {
        _ = try await Self.run(["stop", "--dir", directory] + (kill ? ["--kill"] : []))
    }

    /// Starts the node again on the same ports and data.
    func start() async throws {
        _ = try await Self.run(["start", "--dir", directory])
    }

    /// The URL of Relevo's broker user `user` (`scheduler` or `worker`, see `config/rabbitmq/permissions`).
    /// With `tls`, the amqps:// URL of the node's TLS listener (which names the CA file).
    func url(user: String, tls: Bool = false) async throws -> String {
        try await Self.run(["url", "--dir", directory, "--user", user] + (tls ? ["--tls"] : [])).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `rabbitmqctl` against this node.
    func ctl(_ arguments: [String]) async throws -> String {
        try await Self.run(["ctl", "--dir", directory, "--"] + arguments)
    }

    private func destroy() async {
        _ = try? await Self.run(["stop", "--dir", directory, "--kill"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    static func run(_ arguments: [String]) async throws -> String {
        let result = try await runProcessAsync(TestBroker.projectRoot.appendingPathComponent("scripts/broker"), arguments)
        guard result.status == 0 else {
            throw TestSetupError("scripts/broker \(arguments.joined(separator: " ")) failed: \(result.standardError)")
        }
        return result.standardOutput
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `operation`, failing with `TimedOut` if it takes longer than `seconds`, so that a broken
/// client makes a test fail instead of hanging the suite.
func within<T: Sendable>(_ seconds: Double, _ what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            throw TimedOut(what: what)
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}

/// Waits until `condition` holds, checking every 20 ms, for at most `seconds`.
func eventually(_ seconds: Double, _ what: String, _ condition: @escaping @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TimedOut(what: what)
}

/// A RabbitMQ cluster of a test's own (`scripts/broker cluster`), on loopback, with the
/// management API on every node. Stopped and removed afterwards, whatever the test did.
final class PrivateBrokerCluster: Sendable {
    let directory: String
    let nodes: Int

    private init(directory: String, nodes: Int) {
        self.directory = directory
        self.nodes = nodes
    }

    static func with<T>(nodes: Int = 3, _ body: (PrivateBrokerCluster) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("relevo-test-broker-cluster-\(UUID().uuidString.prefix(8))").path
        let cluster = PrivateBrokerCluster(directory: directory, nodes: nodes)
        do {
            _ = try await PrivateBroker.run(["cluster", "start", "--dir", directory, "--nodes", String(nodes), "--port", "auto", "--management"])
            let result = try await body(cluster)
            await cluster.destroy()
            return result
        } catch {
            await cluster.destroy()
            throw error
        }
    }

    /// The cluster's URL for Relevo's broker user `user` (every node, the first first).
    func url(user: String) async throws -> String {
        try await PrivateBroker.run(["cluster", "url", "--dir", directory, "--user", user]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Node `index`'s (1-based) management API.
    func managementURL(node index: Int) async throws -> String {
        try await PrivateBroker.run(["management-url", "--dir", "\(directory)/node\(index)"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Node `index`'s Erlang node name (`relevo-PORT@localhost`).
    func nodeName(_ index: Int) throws -> String {
        let state = try String(contentsOfFile: "\(directory)/node\(index)/state", encoding: .utf8)
        guard let line = state.split(separator: "\n").first(where: { $0.hasPrefix("NODE=") }) else { throw TestSetupError("no NODE in node\(index)/state") }
        return String(line.dropFirst("NODE=".count))
    }

    func kill(node index: Int) async throws {
        _ = try await PrivateBroker.run(["stop", "--dir", "\(directory)/node\(index)", "--kill"])
    }

    func start(node index: Int) async throws {
        _ = try await PrivateBroker.run(["start", "--dir", "\(directory)/node\(index)"])
    }

    /// The nodes every node agrees are running, as node `index` sees them.
    func runningNodes(asSeenBy index: Int) async throws -> [String] {
        let json = try await PrivateBroker.run(["ctl", "--dir", "\(directory)/node\(index)", "--", "cluster_status", "--formatter", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return (object?["running_nodes"] as? [String] ?? []).sorted()
    }

    private func destroy() async {
        _ = try? await PrivateBroker.run(["cluster", "stop", "--dir", directory, "--kill"])
        if ProcessInfo.processInfo.environment["RELEVO_TEST_KEEP_BROKER"] == nil { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// A private certificate authority and a server certificate it signed (`scripts/testcerts`).
enum TestCertificates {
    /// Makes them in a new temporary folder for `names` (host names or addresses); returns the folder.
    static func make(for names: [String]) async throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-test-certs-\(UUID().uuidString.prefix(8))").path
        let result = try await runProcessAsync(TestBroker.projectRoot.appendingPathComponent("scripts/testcerts"), [directory] + names)
        guard result.status == 0 else { throw TestSetupError("scripts/testcerts failed: \(result.standardError)") }
        return directory
    }
}
