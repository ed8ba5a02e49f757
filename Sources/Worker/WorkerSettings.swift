import Foundation
import Shared
import Yams

/// How one worker (agent) runs: where the broker is, who it is, what it can take. Each setting
/// comes from a flag, else an environment variable `RELEVO_WORKER_<NAME>` (or `RELEVO_BROKER_URL`),
/// else the settings file, else its default.
struct WorkerSettings: Sendable, Equatable {
    var brokerURL: String = "amqp://guest:guest@127.0.0.1:5699/%2F"
    /// Shown in the dashboard and in `rabbitmqctl list_connections`.
    var name: String = ProcessInfo.processInfo.hostName
    var resources: [String] = []
    var environments: [String] = []
    /// How many jobs run at once.
    var slots: Int = 1
    /// Root of the agent's files: `pipelines/<pipeline>` work directories, git mirrors, its UUID.
    var workDirectory: String = "/var/lib/relevo/agent/1"
    /// The scheduler's HTTP API, for `GO_SERVER_URL` and artifacts.
    var serverURL: String = "http://127.0.0.1:8153/go"
    /// How often the agent tells the scheduler it is alive.
    var heartbeatInterval: Duration = .seconds(5)

    /// Keys of the settings file and of the environment variables (upper-cased, prefixed).
    enum Key: String, CaseIterable {
        case brokerURL = "broker_url", name, resources, environments, slots
        case workDirectory = "work_dir", serverURL = "server_url", heartbeatSeconds = "heartbeat_seconds"

        var environmentVariable: String {
            self == .brokerURL ? "RELEVO_BROKER_URL" : "RELEVO_WORKER_\(rawValue.uppercased())"
        }
    }

    /// A setting that could not be used, with where it came from.
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    /// Applies, in order of increasing precedence, a settings file, the environment and the flags.
    static func resolve(file: String?, environment: [String: String], flags: [Key: String]) throws -> WorkerSettings {
        var settings = WorkerSettings()
        if let file {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw Invalid(description: "cannot read the settings file \(file): \(error.localizedDescription)")
            }
            let node: Node?
            do { node = try Yams.compose(yaml: text) } catch {
                throw Invalid(description: "\(file): not valid YAML: \(error)")
            }
            for (keyNode, valueNode) in node?.mapping ?? [:] {
                let key = keyNode.string ?? ""
                let place = "\(file):\(keyNode.mark?.line ?? 0):\(keyNode.mark?.column ?? 0)"
                guard let known = Key(rawValue: key) else {
                    throw Invalid(description: "\(place): unknown setting '\(key)' (expected one of: \(Key.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                let value: String
                if let scalar = valueNode.scalar {
                    value = scalar.string
                } else if let items = valueNode.sequence {
                    value = items.compactMap { $0.scalar?.string }.joined(separator: ",")
                } else {
                    throw Invalid(description: "\(place): '\(key)' must be a value or a list of values")
                }
                try settings.apply(known, value, source: place)
            }
        }
        for key in Key.allCases {
            if let value = environment[key.environmentVariable] { try settings.apply(key, value, source: key.environmentVariable) }
        }
        for (key, value) in flags { try settings.apply(key, value, source: "--\(key.rawValue.replacingOccurrences(of: "_", with: "-"))") }
        return settings
    }

    private mutating func apply(_ key: Key, _ value: String, source: String) throws {
        func list(_ text: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        switch key {
        case .brokerURL:
            do { _ = try AMQPSettings(url: value) } catch { throw Invalid(description: "\(source): \(error.message)") }
            brokerURL = value
        case .name:
            guard !value.isEmpty else { throw Invalid(description: "\(source): the name must not be empty") }
            name = value
        case .resources: resources = list(value)
        case .environments: environments = list(value)
        case .slots:
            guard let number = Int(value), (1...256).contains(number) else {
                throw Invalid(description: "\(source): slots must be a whole number from 1 to 256, not '\(value)'")
            }
            slots = number
        case .workDirectory: workDirectory = value
        case .serverURL: serverURL = value
        case .heartbeatSeconds:
            guard let number = Double(value), number > 0 else {
                throw Invalid(description: "\(source): heartbeat_seconds must be a positive number, not '\(value)'")
            }
            heartbeatInterval = .milliseconds(Int(number * 1000))
        }
    }
}
