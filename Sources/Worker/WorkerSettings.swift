import Foundation
import Shared

/// How one worker (agent) runs: where the broker is, who it is, what it can take. Each setting
/// comes from a flag, else an environment variable `RELEVO_WORKER_<NAME>` (or `RELEVO_BROKER_URL`),
/// else the settings file, else its default.
struct WorkerSettings: LayeredSettings, Sendable, Equatable {
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
    /// For an `https` server URL signed by a CA of your own: that CA's certificate (PEM). Without
    /// it the system's trusted CAs verify the server.
    var serverCAFile: String?
    /// How often the agent tells the scheduler it is alive.
    var heartbeatInterval: Duration = .seconds(2)
    /// The server's agent registration key (settings file or `RELEVO_WORKER_REGISTRATION_KEY`;
    /// never a flag, so that it is on no command line); without it the agent waits for an
    /// administrator's approval when it first registers.
    var registrationKey: String?

    static func environmentVariable(of key: Key) -> String { key.environmentVariable }
    static func takesList(_ key: Key) -> Bool { key == .resources || key == .environments }

    /// Keys of the settings file and of the environment variables (upper-cased, prefixed).
    enum Key: String, CaseIterable {
        case brokerURL = "broker_url", name, resources, environments, slots
        case workDirectory = "work_dir", serverURL = "server_url", heartbeatSeconds = "heartbeat_seconds"
        case registrationKey = "registration_key"
        case serverCAFile = "server_ca_file"

        var environmentVariable: String {
            self == .brokerURL ? "RELEVO_BROKER_URL" : "RELEVO_WORKER_\(rawValue.uppercased())"
        }
    }



    mutating func apply(_ key: Key, _ value: String, source: String) throws(SettingsError) {
        func list(_ text: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        switch key {
        case .brokerURL:
            do { _ = try AMQPSettings(url: value) } catch { throw SettingsError("\(source): \(error.message)") }
            brokerURL = value
        case .name:
            guard !value.isEmpty else { throw SettingsError("\(source): the name must not be empty") }
            name = value
        case .resources: resources = list(value)
        case .environments: environments = list(value)
        case .slots:
            guard let number = Int(value), (1...256).contains(number) else {
                throw SettingsError("\(source): slots must be a whole number from 1 to 256, not '\(value)'")
            }
            slots = number
        case .workDirectory: workDirectory = value
        case .serverURL: serverURL = value
        case .heartbeatSeconds:
            guard let number = Double(value), number > 0 else {
                throw SettingsError("\(source): heartbeat_seconds must be a positive number, not '\(value)'")
            }
            heartbeatInterval = .milliseconds(Int(number * 1000))
        case .registrationKey:
            registrationKey = value.isEmpty ? nil : value
        case .serverCAFile:
            guard value.isEmpty || FileManager.default.isReadableFile(atPath: value) else {
                throw SettingsError("\(source): server_ca_file '\(value)' is not a readable file")
            }
            serverCAFile = value.isEmpty ? nil : value
        }
    }
}
