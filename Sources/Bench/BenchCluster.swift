import Foundation
import Glibc
import Shared

/// A whole Relevo for the benchmark: a private broker, the scheduler and workers as real
/// processes, config and data in a temporary folder. `shutDown` stops all of it and is safe to
/// call on any path, however far starting got.
final class BenchCluster: @unchecked Sendable {
    // @unchecked: the mutable properties are changed only by the benchmark's one sequential
    // task (start, restart, shut down), never concurrently.
    let root: URL
    let binaries: URL
    let repository: URL
    private(set) var broker: PrivateBroker?
    private(set) var scheduler: ChildProcess?
    private(set) var workers: [ChildProcess] = []
    private(set) var port = 0
    private(set) var api = SchedulerAPI(port: 0)

    var configDirectory: URL { root.appendingPathComponent("config") }
    var dataDirectory: URL { root.appendingPathComponent("data") }

    /// Where the broker and the scheduler listen: loopback, or a test host's server address.
    var host = "127.0.0.1"
    /// The URLs workers and the scheduler connect with: Relevo's own users off loopback (guest
    /// may log in only from loopback).
    private var workerBrokerURL: String?
    private var schedulerBrokerURL: String?

    init(repository: URL, binaries: URL) throws {
        self.repository = repository
        self.binaries = binaries
        root = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-bench-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: configDirectory, withIntermediateDirectories: true)
        Teardown.shared.register(scratch: root)
    }

    func startBroker() async throws {
        broker = try await PrivateBroker.start(root: repository, directory: root.appendingPathComponent("broker"), host: host)
        if host != "127.0.0.1" {
            workerBrokerURL = try await broker?.url(user: "worker")
            schedulerBrokerURL = try await broker?.url(user: "scheduler")
        }
    }

    /// Starts the scheduler (on a free port the first time, on the same port again after a
    /// stop) and waits until its API answers. `extraArguments` are added to `serve`'s.
    func startScheduler(_ extraArguments: [String] = []) async throws {
        guard let broker else { throw BenchError("start the scheduler", "no broker") }
        if port == 0 {
            port = try freePort()
            api = SchedulerAPI(port: port, host: host)
        }
        let process = try ChildProcess.start(binaries.appendingPathComponent("relevo-scheduler"), [
            "serve", "--broker-url", schedulerBrokerURL ?? broker.url, "--data-dir", dataDirectory.path, "--config-dir", configDirectory.path,
            "--host", host, "--port", String(port), "--server-url", "http://\(host):\(port)/go",
        ] + extraArguments, name: "scheduler", directory: root)
        scheduler = process
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if await api.isHealthy() { return }
            guard process.isRunning else { throw BenchError("start the scheduler", "it exited:\n\(process.logTail())") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("start the scheduler", "no answer on port \(port) within 120 s:\n\(process.logTail())")
    }

    func stopScheduler() async {
        await scheduler?.stop()
        scheduler = nil
    }

    /// SIGKILLs the scheduler (the fault suite); start it again with ``startScheduler(_:)``.
    func killScheduler() {
        scheduler?.kill()
        scheduler = nil
    }

    /// Restarts the broker on the same ports with its data: gracefully, or after a SIGKILL.
    func restartBroker(hard: Bool) async throws {
        guard let broker else { throw BenchError("restart the broker", "no broker") }
        try await broker.restart(hard: hard)
    }

    /// Starts a worker with `slots` slots and waits until the scheduler lists it as an agent.
    /// A name started before gets its work directory, and so its agent identity, back.
    @discardableResult
    func startWorker(name: String, slots: Int, namespace: String? = nil) async throws -> ChildProcess {
        guard let broker else { throw BenchError("start worker \(name)", "no broker") }
        let process = try ChildProcess.start(binaries.appendingPathComponent("relevo-worker"), [
            "--broker-url", workerBrokerURL ?? broker.url, "--name", name, "--resources", "", "--environments", "",
            "--slots", String(slots), "--work-dir", root.appendingPathComponent("agents/\(name)").path,
            "--server-url", "http://\(host):\(port)/go",
        ], name: name, directory: root, namespace: namespace)
        workers.removeAll { $0.name == name && !$0.isRunning }
        workers.append(process)
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if try await api.agentNames().contains(name) { return process }
            guard process.isRunning else { throw BenchError("start worker \(name)", "it exited:\n\(process.logTail())") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("start worker \(name)", "not registered within 120 s:\n\(process.logTail())")
    }

    /// Stops workers (they finish what they run), then the scheduler, then kills the broker and
    /// removes the folder. Returns what could not be stopped, if anything.
    func shutDown() async -> [String] {
        var problems: [String] = []
        for worker in workers { await worker.stop() }
        workers = []
        await stopScheduler()
        if let broker {
            do { try await broker.stop() } catch { problems.append("\(error)") }
            self.broker = nil
        }
        if problems.isEmpty {
            do { try FileManager.default.removeItem(at: root) } catch { problems.append("cannot remove \(root.path): \(error)") }
        }
        return problems
    }

    /// A free TCP port on loopback, outside the kernel's ephemeral range (see `LoopbackPort`).
    private func freePort() throws -> Int {
        guard let port = LoopbackPort.unused() else { throw BenchError("find a free port", "none free in 10000–19999") }
        return port
    }
}
