import Foundation
import Shared
import Testing

/// AMQP over TLS (`amqps://`, librabbitmq's SSL socket): the scheduler and a worker reach the
/// broker only through its TLS listener, verifying its certificate against the test CA; a client
/// that does not trust that CA is refused before it logs in.
@Suite(.serialized, .timeLimit(.minutes(4))) struct TLSTests {
    @Test func theSchedulerAndAWorkerTalkToTheBrokerOverVerifiedTLS() async throws {
        let certificates = try await TestCertificates.make(for: ["localhost", "127.0.0.1"])
        let stranger = try await TestCertificates.make(for: ["localhost"])
        defer {
            try? FileManager.default.removeItem(atPath: certificates)
            try? FileManager.default.removeItem(atPath: stranger)
        }
        try await PrivateBroker.with(tls: certificates) { broker in
            let schedulerURL = try await broker.url(user: "scheduler", tls: true)
            let workerURL = try await broker.url(user: "worker", tls: true)
            #expect(schedulerURL.hasPrefix("amqps://relevo-scheduler:") && workerURL.contains("cacertfile=\(certificates)/ca.pem"))

            // A CA that did not sign the broker's certificate: no connection.
            let untrusted = workerURL.replacingOccurrences(of: "\(certificates)/ca.pem", with: "\(stranger)/ca.pem")
            var settings = try AMQPSettings(url: untrusted, connectionName: "test:untrusting")
            settings.connectTimeout = .seconds(3)
            await #expect(throws: AMQPError.self, "a broker certificate signed by another CA") {
                let client = try await AMQPClient.connect(settings)
                await client.close()
            }

            try await RelevoCluster.with(privateBrokerURL: schedulerURL, workerBrokerURL: workerURL) { cluster in
                try cluster.writeUnfetchedPipeline("sealed", stage: "build", jobs: [("compile", "tasks:\n  - exec: {command: /bin/sh, arguments: [-c, \"echo over tls\"]}")])
                try await cluster.startScheduler()
                try await cluster.startWorker(.init(name: "w-tls"))
                let reply = try await cluster.api.post("/go/api/pipelines/sealed/schedule", body: RelevoCluster.pinnedSchedule)
                #expect(reply.status == 202, "\(reply.text)")
                let run = try await cluster.api.waitFor("sealed", 1, states: ["passed", "failed"], seconds: 60)
                #expect(run["state"] as? String == "passed")
                #expect(try await cluster.api.console("sealed", 1, "build", "compile").contains("over tls"))

                // Every connection of the scheduler and the worker is a TLS one.
                let connections = try await broker.ctl(["list_connections", "user", "ssl", "ssl_protocol", "--no-table-headers", "--quiet"])
                let rows = connections.split(separator: "\n").map { $0.split(whereSeparator: \.isWhitespace).map(String.init) }
                let relevo = rows.filter { $0.first?.hasPrefix("relevo-") == true }
                #expect(relevo.count == 4, "scheduler and worker, two connections each: \(connections)")
                #expect(relevo.allSatisfy { $0.count >= 3 && $0[1] == "true" && $0[2].hasPrefix("tlsv1") }, "\(connections)")
            }
        }
    }

    /// The scheduler serves its API, the dashboard and artifacts over HTTPS only
    /// (`tls_cert_file`, `tls_key_file`); a worker trusting the test CA (`server_ca_file`)
    /// registers, uploads an artifact and fetches it in the next stage over TLS.
    @Test func theSchedulerServesHTTPSAndAWorkerMovesArtifactsOverIt() async throws {
        let certificates = try await TestCertificates.make(for: ["localhost", "127.0.0.1"])
        defer { try? FileManager.default.removeItem(atPath: certificates) }
        try await RelevoCluster.with { cluster in
            try cluster.writeConfig("sealed.gocd.yaml", """
            format_version: 10
            pipelines:
              sealed:
                materials:
                  src: {git: "file:///nonexistent", auto_update: false}
                stages:
                  - make:
                      fetch_materials: false
                      jobs:
                        make:
                          artifacts:
                            - build: {source: out}
                          tasks:
                            - exec: {command: /bin/sh, arguments: [-c, "mkdir -p out && echo sealed bytes > out/a.txt"]}
                  - use:
                      fetch_materials: false
                      jobs:
                        use:
                          tasks:
                            - fetch: {stage: make, job: make, source: out, destination: got}
                            - exec: {command: /bin/cat, arguments: [got/out/a.txt]}
            """)
            let base = "https://localhost:\(cluster.port)"
            let scheduler = try RelevoProcess.start("relevo-scheduler", name: "scheduler-https", arguments: [
                "serve", "--data-dir", cluster.root.appendingPathComponent("data").path, "--config-dir", cluster.configDirectory.path,
                "--port", String(cluster.port), "--server-url", "\(base)/go", "--poll-seconds", "1",
                "--tls-cert-file", "\(certificates)/server.pem", "--tls-key-file", "\(certificates)/server.key",
            ], logDirectory: cluster.root, environment: ["RELEVO_BROKER_URL": cluster.brokerURL])
            cluster.adopt(scheduler)
            let curl: @Sendable ([String]) async throws -> CommandResult = { arguments in
                try await runProcessAsync(URL(fileURLWithPath: "/usr/bin/curl"), ["-sS", "--max-time", "10", "--cacert", "\(certificates)/ca.pem"] + arguments)
            }
            try await eventually(60, "the scheduler to answer over HTTPS") {
                guard scheduler.isRunning else { throw TestSetupError("the scheduler exited:\n\(scheduler.log)") }
                return try await curl(["\(base)/go/api/v1/health"]).standardOutput.contains("OK")
            }
            // TLS only: plain HTTP on that port gets no answer.
            let plain = try await runProcessAsync(URL(fileURLWithPath: "/usr/bin/curl"), ["-sS", "--max-time", "5", "http://127.0.0.1:\(cluster.port)/go/api/v1/health"])
            #expect(!plain.standardOutput.contains("OK"), "\(plain.standardOutput)")

            let worker = try RelevoProcess.start("relevo-worker", name: "w-https", arguments: [
                "--name", "w-https", "--work-dir", cluster.root.appendingPathComponent("agents/w-https").path,
                "--server-url", "\(base)/go", "--server-ca-file", "\(certificates)/ca.pem",
            ], logDirectory: cluster.root, environment: ["RELEVO_BROKER_URL": cluster.brokerURL])
            cluster.adopt(worker)
            let schedule = try await curl(["-X", "POST", "-H", "Content-Type: application/json", "-d", RelevoCluster.pinnedSchedule,
                                           "\(base)/go/api/pipelines/sealed/schedule"])
            #expect(schedule.standardOutput.contains("\"counter\""), "\(schedule.standardOutput) \(schedule.standardError)")
            var state = ""
            let deadline = ContinuousClock.now + .seconds(90)
            while !["passed", "failed", "cancelled"].contains(state), ContinuousClock.now < deadline {
                let reply = try await curl(["\(base)/go/api/pipelines/sealed/1"]).standardOutput
                state = ((try? JSONSerialization.jsonObject(with: Data(reply.utf8))) as? [String: Any])?["state"] as? String ?? ""
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(state == "passed", "worker log:\n\(worker.log.suffix(3000))")
            let console = try await curl(["\(base)/go/files/sealed/1/use/1/use/cruise-output/console.log"]).standardOutput
            #expect(console.contains("sealed bytes"), "\(console)")

            // The CLI over HTTPS: with the CA it reads the run; without it, it refuses the server.
            let cli = try builtProduct("relevo")
            let status = try await runProcessAsync(cli, ["status", "sealed", "--server", base, "--ca-file", "\(certificates)/ca.pem"])
            #expect(status.status == 0 && status.standardOutput.contains("passed"), "\(status)")
            let untrusted = try await runProcessAsync(cli, ["status", "sealed", "--server", base])
            #expect(untrusted.status == 4 && untrusted.standardError.contains("cannot reach"), "\(untrusted)")
        }
    }
}
