import Foundation
import Shared
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `relevo-scheduler` or `relevo-worker` started as a real process, its output in a log file.
final class RelevoProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test that owns this value, one call at a time.
    let name: String
    let logFile: URL
    private let process: Process

    private init(name: String, process: Process, logFile: URL) {
        self.name = name
        self.process = process
        self.logFile = logFile
    }

    /// `namespace`: run it on that test host (``TestHosts``) with `ip netns exec`, which execs it
    /// (the pid is the product's own). `environment`: added to this process's environment.
    static func start(_ product: String, name: String, arguments: [String], logDirectory: URL,
                      namespace: String? = nil, environment extra: [String: String] = [:]) throws -> RelevoProcess {
        let logFile = logDirectory.appendingPathComponent("\(name).log")
        guard FileManager.default.createFile(atPath: logFile.path, contents: nil) else {
            throw TestSetupError("cannot create \(logFile.path)")
        }
        let process = Process()
        if let namespace {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, try builtProduct(product).path] + arguments
        } else {
            process.executableURL = try builtProduct(product)
            process.arguments = arguments
        }
        // Every test scheduler takes this registration key and every test worker presents it.
        var environment = ProcessInfo.processInfo.environment
        environment["RELEVO_SCHEDULER_AGENT_REGISTRATION_KEY"] = testRegistrationKey
        environment["RELEVO_WORKER_REGISTRATION_KEY"] = testRegistrationKey
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return RelevoProcess(name: name, process: process, logFile: logFile)
    }

    var pid: Int32 { process.processIdentifier }
    /// Whether it has exited by itself with status 0 (not killed by a signal).
    var exitedCleanly: Bool { !process.isRunning && process.terminationReason == .exit && process.terminationStatus == 0 }
    var isRunning: Bool { process.isRunning }
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// SIGTERM and wait (graceful shutdown), then SIGKILL if it takes longer than `grace`.
    func stop(grace: Duration = .seconds(15)) async {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning { kill() }
    }

    /// SIGKILL, as a crash would.
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// A free TCP port on loopback (see `LoopbackPort`).
/// The agent registration key of the test clusters.
let testRegistrationKey = "relevo-test-registration-key"

func freePort() -> Int {
    LoopbackPort.unused() ?? 18153
}

/// A small client of the scheduler's REST API.
struct RelevoAPI: Sendable {
    let base: String

    struct Reply: Sendable {
        let status: Int
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw TestSetupError("not a JSON object: \(text)")
            }
            return object
        }
    }

    func request(_ method: String, _ path: String, body: String? = nil, data: Data? = nil,
                 headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let data { request.httpBody = data }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Reply(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
    }

    func get(_ path: String) async throws -> Reply { try await request("GET", path) }
    func post(_ path: String, body: String? = nil) async throws -> Reply { try await request("POST", path, body: body) }

    /// One pipeline instance as JSON, or nil while it does not exist.
    func instance(_ pipeline: String, _ counter: Int) async throws -> [String: Any]? {
        let reply = try await get("/go/api/pipelines/\(pipeline)/\(counter)")
        return reply.status == 200 ? try reply.json() : nil
    }

    /// The messages the scheduler read from `relevo.dead`, newest first.
    func deadLetters() async throws -> [[String: Any]] {
        ((try await get("/go/api/dead_letters").json())["_embedded"] as? [String: Any])?["dead_letters"] as? [[String: Any]] ?? []
    }

    /// Waits until instance `counter` of `pipeline` is in one of `states`; returns it.
    @discardableResult
    func waitFor(_ pipeline: String, _ counter: Int, states: Set<String>, seconds: Double = 60) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var last: [String: Any]?
        while ContinuousClock.now < deadline {
            if let run = try? await instance(pipeline, counter) {
                last = run
                if let state = run["state"] as? String, states.contains(state) { return run }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("\(pipeline)/\(counter) never reached \(states); last seen: \(String(describing: last))")
    }

    func console(_ pipeline: String, _ counter: Int, _ stage: String, _ job: String, runIndex: Int = 1) async throws -> String {
        try await get("/go/files/\(pipeline)/\(counter)/\(stage)/1/\(job)/cruise-output/console.log?run_index=\(runIndex)").text
    }

    /// Triggers `pipeline` and returns the new instance's counter.
    func trigger(_ pipeline: String) async throws -> Int {
        let reply = try await post("/go/api/pipelines/\(pipeline)/schedule")
        guard reply.status == 202, let counter = try reply.json()["counter"] as? Int else {
            throw TestSetupError("cannot trigger \(pipeline): \(reply.status) \(reply.text)")
        }
        return counter
    }

    /// The instances of `pipeline`, newest first.
    func history(_ pipeline: String) async throws -> [[String: Any]] {
        let reply = try await get("/go/api/pipelines/\(pipeline)/history?page_size=100")
        guard reply.status == 200 else { return [] }
        return ((try reply.json()["_embedded"] as? [String: Any])?["pipelines"] as? [[String: Any]]) ?? []
    }
}

extension Dictionary where Key == String, Value == Any {
    /// The jobs of stage `name` in a pipeline instance's JSON.
    func jobs(ofStage name: String) -> [[String: Any]] {
        let stages = self["stages"] as? [[String: Any]] ?? []
        return stages.first { $0["name"] as? String == name }?["jobs"] as? [[String: Any]] ?? []
    }

    func stage(_ name: String) -> [String: Any]? {
        (self["stages"] as? [[String: Any]] ?? []).first { $0["name"] as? String == name }
    }
}
