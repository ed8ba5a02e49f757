import Foundation
import Shared

/// Server settings, kept apart from pipelines: from `--settings FILE` (default
/// `config/relevo.yaml` if present), overridden by `RELEVO_*` environment variables, overridden by flags.
struct SchedulerSettings: LayeredSettings, Sendable, Equatable {
    var brokerURL = "amqp://guest:guest@127.0.0.1:5699/%2F"
    /// Where the SQLite file (and later artifacts) live.
    var dataDirectory = "/var/lib/relevo/server"
    /// The directory of `*.gocd.yaml` pipeline files.
    var configDirectory = "config/pipelines"
    var host = "127.0.0.1"
    var port = 8153
    /// The URL workers use to reach this server (`GO_SERVER_URL`).
    var serverURL = "http://127.0.0.1:8153/go"
    /// How often git materials are polled for new commits.
    var pollInterval: Duration = .seconds(10)
    /// How often the config directory is checked for changes.
    var configReloadInterval: Duration = .seconds(2)
    /// An agent silent for this long is marked "lost contact" and its jobs are dispatched again
    /// (three missed heartbeats at the worker's default of 2 s).
    var agentLostAfter: Duration = .seconds(6)
    /// The API tokens file (see ``APITokens``); without one the API is open to every caller.
    var tokensFile: String?
    /// The shared secret of the GitHub (HMAC-SHA256 signature) and GitLab (token) webhooks;
    /// without one, those webhooks are refused.
    var webhookSecret: String?
    /// GoCD's auto-register key: an agent that presents it gets its credential at once; without
    /// it (or without one set here) an agent waits as pending until an administrator approves it.
    var agentRegistrationKey: String?
    /// The largest artifact file one upload may store, and all of one job run's artifacts
    /// together, in MiB (0: no limit). A job over either gets a 413 and fails with the reason.
    var artifactMaxFileMB = 4096
    var artifactMaxJobMB = 16384
    /// GoCD's artifact purge: below this much free disk (MiB) in the data directory the oldest
    /// artifacts that may go are deleted until `artifactPurgeStopMB` is free; 0: never purge.
    /// Checked every `artifactPurgeCheckSeconds`.
    var artifactPurgeStartMB = 0
    var artifactPurgeStopMB = 0
    var artifactPurgeCheckSeconds = 60
    /// RabbitMQ's management API, e.g. `http://guest:guest@127.0.0.1:15699`: when given, the
    /// queues page shows unacked messages and the active consumer of each serial queue.
    var brokerManagementURL: String?
    /// HTTPS: the server's certificate chain and private key (PEM). With both, the API, the
    /// dashboard and artifact transfers are served over TLS only, and the sign-in cookie is
    /// `Secure`.
    var tlsCertificateFile: String?
    var tlsKeyFile: String?
    /// The key of encrypted secure values (GoCD's `cipher.aes`: 32 hex digits); default
    /// `<data_dir>/cipher.aes`, made on first start. Copy a GoCD server's here to keep its values.
    var cipherFile: String?
    /// GoCD secret configs for `{{SECRET:[id][key]}}`: each id's secrets file (the file-based
    /// secrets plugin's format), written `id=path`, several separated by commas.
    var secretConfigs: [String: String] = [:]

    static func environmentVariable(of key: Key) -> String { key.environmentVariable }
    static func takesList(_ key: Key) -> Bool { false }

    enum Key: String, CaseIterable {
        case brokerURL = "broker_url", dataDirectory = "data_dir", configDirectory = "config_dir", host, port
        case serverURL = "server_url", pollSeconds = "poll_seconds", agentLostSeconds = "agent_lost_seconds"
        case tokensFile = "tokens_file", webhookSecret = "webhook_secret", brokerManagementURL = "broker_management_url"
        case agentRegistrationKey = "agent_registration_key"
        case tlsCertificateFile = "tls_cert_file", tlsKeyFile = "tls_key_file"
        case artifactMaxFileMB = "artifact_max_file_mb", artifactMaxJobMB = "artifact_max_job_mb"
        case cipherFile = "cipher_file", secretConfigs = "secret_configs"
        case artifactPurgeStartMB = "artifact_purge_start_mb", artifactPurgeStopMB = "artifact_purge_stop_mb"
        case artifactPurgeCheckSeconds = "artifact_purge_check_seconds"

        var environmentVariable: String {
            switch self {
            case .brokerURL: "RELEVO_BROKER_URL"
            case .brokerManagementURL: "RELEVO_BROKER_MANAGEMENT_URL"
            default: "RELEVO_SCHEDULER_\(rawValue.uppercased())"
            }
        }
    }

    mutating func apply(_ key: Key, _ value: String, source: String) throws(SettingsError) {
        switch key {
        case .brokerURL:
            do { _ = try AMQPSettings(url: value) } catch { throw SettingsError("\(source): \(error.message)") }
            brokerURL = value
        case .dataDirectory: dataDirectory = value
        case .configDirectory: configDirectory = value
        case .host: host = value
        case .port:
            guard let number = Int(value), (1...65535).contains(number) else { throw SettingsError("\(source): port must be 1–65535, not '\(value)'") }
            port = number
        case .serverURL: serverURL = value
        case .pollSeconds:
            guard let number = Double(value), number > 0 else { throw SettingsError("\(source): poll_seconds must be positive, not '\(value)'") }
            pollInterval = .milliseconds(Int(number * 1000))
        case .tokensFile: tokensFile = value.isEmpty ? nil : value
        case .webhookSecret: webhookSecret = value.isEmpty ? nil : value
        case .agentRegistrationKey:
            guard value.isEmpty || value.count >= 16 else {
                throw SettingsError("\(source): agent_registration_key must be at least 16 characters (or empty: agents wait for approval)")
            }
            agentRegistrationKey = value.isEmpty ? nil : value
        case .brokerManagementURL:
            guard value.isEmpty || BrokerManagement(url: value, virtualHost: "/") != nil else {
                throw SettingsError("\(source): broker_management_url must be an http(s) URL such as http://guest:guest@127.0.0.1:15672, not '\(value)'")
            }
            brokerManagementURL = value.isEmpty ? nil : value
        case .agentLostSeconds:
            guard let number = Int(value), number > 0 else { throw SettingsError("\(source): agent_lost_seconds must be positive, not '\(value)'") }
            agentLostAfter = .seconds(number)
        case .artifactMaxFileMB, .artifactMaxJobMB:
            guard let number = Int(value), number >= 0 else {
                throw SettingsError("\(source): \(key.rawValue) must be a whole number of MiB (0 for no limit), not '\(value)'")
            }
            if key == .artifactMaxFileMB { artifactMaxFileMB = number } else { artifactMaxJobMB = number }
        case .tlsCertificateFile, .tlsKeyFile:
            guard value.isEmpty || FileManager.default.isReadableFile(atPath: value) else {
                throw SettingsError("\(source): \(key.rawValue) '\(value)' is not a readable file")
            }
            if key == .tlsCertificateFile { tlsCertificateFile = value.isEmpty ? nil : value } else { tlsKeyFile = value.isEmpty ? nil : value }
        case .artifactPurgeStartMB, .artifactPurgeStopMB, .artifactPurgeCheckSeconds:
            guard let number = Int(value), number >= (key == .artifactPurgeCheckSeconds ? 1 : 0) else {
                throw SettingsError("\(source): \(key.rawValue) must be a whole number\(key == .artifactPurgeCheckSeconds ? " of seconds, at least 1" : " of MiB (0: never purge)"), not '\(value)'")
            }
            switch key {
            case .artifactPurgeStartMB: artifactPurgeStartMB = number
            case .artifactPurgeStopMB: artifactPurgeStopMB = number
            default: artifactPurgeCheckSeconds = number
            }
        case .cipherFile: cipherFile = value.isEmpty ? nil : value
        case .secretConfigs:
            var configs: [String: String] = [:]
            for entry in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, ConfigName.isValid(parts[0]), !parts[1].isEmpty else {
                    throw SettingsError("\(source): secret_configs is a list of id=path (the file-based secrets plugin's secrets.json), not '\(entry)'")
                }
                guard FileManager.default.isReadableFile(atPath: parts[1]) else {
                    throw SettingsError("\(source): secret config '\(parts[0])': '\(parts[1])' is not a readable file")
                }
                configs[parts[0]] = parts[1]
            }
            secretConfigs = configs
        }
    }
}
