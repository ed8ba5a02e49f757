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
}
