import Foundation

/// A RabbitMQ node of the benchmark's own, run by `scripts/broker` on free loopback ports in a
/// temporary folder.
struct PrivateBroker: Sendable {
    let directory: String
    let url: String
    private let script: URL

    /// Starts a node; if starting fails half-way, whatever did start is killed.
    /// `host`: where AMQP listens (a test host's server address; loopback by default).
    static func start(root: URL, directory: URL, host: String = "127.0.0.1") async throws -> PrivateBroker {
        let script = root.appendingPathComponent("scripts/broker")
        guard FileManager.default.isExecutableFile(atPath: script.path) else {
            throw BenchError("start the broker", "\(script.path) is missing: run from the repository root or pass --root")
        }
        Teardown.shared.register(brokerDirectory: directory.path, script: script.path)
        do {
            let output = try await run(script, ["start", "--dir", directory.path, "--port", "auto", "--host", host], scratch: directory)
            let url = output.trimmingCharacters(in: .whitespacesAndNewlines)
            guard url.hasPrefix("amqp://") else { throw BenchError("start the broker", "scripts/broker printed '\(url)'") }
            return PrivateBroker(directory: directory.path, url: url, script: script)
        } catch {
            _ = try? await run(script, ["stop", "--dir", directory.path, "--kill"], scratch: directory)
            Teardown.shared.unregister(brokerDirectory: directory.path)
            throw error
        }
    }

    /// The URL of Relevo's broker user `user` (`scheduler` or `worker`): the ones that work from
    /// another host (guest is for loopback only).
    func url(user: String) async throws -> String {
        try await Self.run(script, ["url", "--dir", directory, "--user", user], scratch: URL(fileURLWithPath: directory))
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The node's pid (beam.smp), from its pid file.
    var pid: Int32? {
        (try? String(contentsOfFile: directory + "/rabbit.pid", encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Kills the node (a throwaway broker needs no graceful stop) and its private epmd.
    func stop() async throws {
        defer { Teardown.shared.unregister(brokerDirectory: directory) }
        _ = try await Self.run(script, ["stop", "--dir", directory, "--kill"], scratch: URL(fileURLWithPath: directory))
    }

    /// Stops the node (gracefully, or with SIGKILL) and starts it again on the same ports, with
    /// its data (`scripts/broker` keeps both in the directory).
    func restart(hard: Bool) async throws {
        _ = try await Self.run(script, ["stop", "--dir", directory] + (hard ? ["--kill"] : []), scratch: URL(fileURLWithPath: directory))
        let output = try await Self.run(script, ["start", "--dir", directory], scratch: URL(fileURLWithPath: directory))
        guard output.trimmingCharacters(in: .whitespacesAndNewlines) == url else {
            throw BenchError("restart the broker", "it came back as '\(output)', not \(url)")
        }
    }

    /// Runs the script to its end with its output in files (the node it starts runs on in the
    /// background and would hold a pipe open).
    private static func run(_ script: URL, _ arguments: [String], scratch: URL) async throws -> String {
        let parent = scratch.deletingLastPathComponent()
        let output = parent.appendingPathComponent("broker-\(arguments[0]).out")
        let errors = parent.appendingPathComponent("broker-\(arguments[0]).err")
        guard FileManager.default.createFile(atPath: output.path, contents: nil),
              FileManager.default.createFile(atPath: errors.path, contents: nil) else {
            throw BenchError("run scripts/broker \(arguments[0])", "cannot create files in \(parent.path)")
        }
        let process = Process()
        process.executableURL = script
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        while process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        process.waitUntilExit()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            let reason = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw BenchError("run scripts/broker \(arguments.joined(separator: " "))",
                             "exit \(process.terminationStatus): \(reason.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return text
    }
}
