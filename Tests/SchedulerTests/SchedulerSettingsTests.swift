import Foundation
import Shared
import Testing

@testable import Scheduler

/// Server settings: file < environment < flags, through the one layering both processes share.
@Suite struct SchedulerSettingsTests {
    static func withFile(_ text: String, _ body: (String) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-settings-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    @Test func flagsOverrideTheEnvironmentWhichOverridesTheFile() throws {
        try Self.withFile("port: 9000\ndata_dir: /srv/relevo\nagent_lost_seconds: 12\n") { path in
            let fromFile = try SchedulerSettings.resolve(file: path, environment: [:], flags: [:])
            #expect(fromFile.port == 9000 && fromFile.dataDirectory == "/srv/relevo" && fromFile.agentLostAfter == .seconds(12))
            let fromEnvironment = try SchedulerSettings.resolve(file: path, environment: ["RELEVO_SCHEDULER_PORT": "9100"], flags: [:])
            #expect(fromEnvironment.port == 9100 && fromEnvironment.dataDirectory == "/srv/relevo")
            let fromFlags = try SchedulerSettings.resolve(file: path, environment: ["RELEVO_SCHEDULER_PORT": "9100"], flags: [.port: "9200"])
            #expect(fromFlags.port == 9200)
        }
    }

    @Test func badValuesNameWhereTheyCameFrom() throws {
        try Self.withFile("host: 127.0.0.1\nport: [1, 2]\n") { path in
            #expect(throws: SettingsError("\(path):2:1: 'port' must be a single value")) {
                _ = try SchedulerSettings.resolve(file: path, environment: [:], flags: [:])
            }
        }
        #expect(throws: SettingsError("RELEVO_SCHEDULER_PORT: port must be 1–65535, not '0'")) {
            _ = try SchedulerSettings.resolve(file: nil, environment: ["RELEVO_SCHEDULER_PORT": "0"], flags: [:])
        }
        #expect(throws: SettingsError("--poll-seconds: poll_seconds must be positive, not 'soon'")) {
            _ = try SchedulerSettings.resolve(file: nil, environment: [:], flags: [.pollSeconds: "soon"])
        }
    }

    @Test func httpsNeedsACertificateAndItsKeyBothReadable() throws {
        #expect(throws: SettingsError("--tls-cert-file: tls_cert_file '/nonexistent/server.pem' is not a readable file")) {
            _ = try SchedulerSettings.resolve(file: nil, environment: [:], flags: [.tlsCertificateFile: "/nonexistent/server.pem"])
        }
        // A certificate without its key is refused before the scheduler starts anything.
        let onlyCertificate = try SchedulerSettings.resolve(file: nil, environment: [:], flags: [.tlsCertificateFile: "/etc/hostname"])
        #expect(throws: (any Error).self) { _ = try ServeCommand.server(onlyCertificate) }
        // Readable files that are not PEM: a clear error naming both.
        let notPEM = try SchedulerSettings.resolve(file: nil, environment: [:], flags: [.tlsCertificateFile: "/etc/hostname", .tlsKeyFile: "/etc/hostname"])
        #expect {
            _ = try ServeCommand.server(notPEM)
        } throws: { error in
            "\(error)".contains("cannot read the TLS certificate /etc/hostname or its key /etc/hostname")
        }
    }
}
