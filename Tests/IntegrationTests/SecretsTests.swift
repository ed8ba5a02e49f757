import Foundation
import Shared
import Testing

/// Secure variables never travel in job messages: a worker fetches them over HTTP once it holds
/// the job, signed with its own credential, and the scheduler answers only that agent.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SecretsTests {
    private static let secret = "s3cr3t-value-42"

    /// A pipeline whose only job needs the secure variable TOKEN: its task fails unless TOKEN has
    /// the secret's length and ending (the task must not spell the secret out: it is in the
    /// message too).
    private func writeVault(_ cluster: RelevoCluster) throws {
        try cluster.writeUnfetchedPipeline("vault", stage: "deploy", jobs: [("only", """
            secure_variables:
              TOKEN: "\(Self.secret)"
            tasks:
              - exec: {command: /bin/sh, arguments: [-c, 'test "${#TOKEN}" = 15 && test "${TOKEN%-value-42}" != "$TOKEN" && echo "token is $TOKEN"']}
            """)])
    }

    /// The job message waiting in the queue, as anyone allowed to read the queue sees it; handed
    /// back (the broker marks it redelivered, as after a consumer that died).
    private func peekJob(_ cluster: RelevoCluster) async throws -> [UInt8] {
        let client = try await AMQPClient.connect(try AMQPSettings(url: cluster.brokerURL, connectionName: "test:queue-reader"))
        let collector = DeliveryCollector(try await client.consume(queue: JobQueueKey(environment: nil, resources: []).queueName, prefetch: 1))
        try await eventually(30, "the job message") { collector.count > 0 }
        let delivery = collector.deliveries[0]
        collector.stop()
        await client.close()
        return delivery.body
    }

    @Test func aQueueReaderSeesNoSecretAndTheWorkerHoldingTheJobGetsIt() async throws {
        try await RelevoCluster.with { cluster in
            try writeVault(cluster)
            try await cluster.startScheduler()
            #expect(try await cluster.api.post("/go/api/pipelines/vault/schedule", body: RelevoCluster.pinnedSchedule).status == 202)
            let body = try await peekJob(cluster)
            let text = String(decoding: body, as: UTF8.self)
            #expect(!text.contains(Self.secret), "the job message carries the secret: \(text)")
            let message = try MessageCodec.decodeJob(body)
            #expect(message.environmentVariables.first { $0.name == "TOKEN" } == EnvironmentVariable(name: "TOKEN", value: "", secure: true))

            try await cluster.startWorker(.init(name: "w1"))
            let run = try await cluster.api.waitFor("vault", 1, states: ["passed", "failed"], seconds: 60)
            let console = try await cluster.api.console("vault", 1, "deploy", "only")
            #expect(run["state"] as? String == "passed", "\(console)")
            #expect(console.contains("Fetching from the scheduler: 1 secure variable (TOKEN)"), "\(console)")
            #expect(console.contains("token is ******") && !console.contains(Self.secret), "\(console)")
        }
    }

    @Test func onlyTheAgentHoldingTheAttemptGetsTheSecretsAndOnlyWhileItRuns() async throws {
        try await RelevoCluster.with { cluster in
            try writeVault(cluster)
            try await cluster.startScheduler()
            #expect(try await cluster.api.post("/go/api/pipelines/vault/schedule", body: RelevoCluster.pinnedSchedule).status == 202)
            let attempt = try MessageCodec.decodeJob(try await peekJob(cluster)).jobAttempt
            let holder = try await cluster.registerPlayedAgent(name: "holder")
            let other = try await cluster.registerPlayedAgent(name: "other")
            func ask(_ agent: (identity: AgentIdentity, credential: [UInt8]), for attempt: JobAttempt, signedWith key: [UInt8]? = nil,
                     sentAt: Int = Int(Date().timeIntervalSince1970), unsigned: Bool = false) async throws -> RelevoAPI.Reply {
                let body = MessageCodec.encode(JobSecretsRequest(agent: agent.identity.uuid, attempt: attempt, sentAt: sentAt))
                let headers = unsigned ? [:] : [JobSecretsRequest.signatureHeader: EventSignature.sign(body, credential: key ?? agent.credential)]
                return try await cluster.api.request("POST", "/go/api/agents/job_secrets", data: Data(body),
                                                     headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a })
            }
            // Not signed, signed with a key of the forger's own, made long ago: refused at once.
            #expect(try await ask(holder, for: attempt, unsigned: true).status == 401)
            #expect(try await ask(holder, for: attempt, signedWith: [UInt8](repeating: 7, count: 32)).status == 401)
            #expect(try await ask(holder, for: attempt, sentAt: Int(Date().timeIntervalSince1970) - 3600).status == 401)

            // `holder` takes the job (a signed `accepted`); from then on it alone gets the secret.
            let client = try await AMQPClient.connect(try AMQPSettings(url: cluster.brokerURL, connectionName: "test:holder"))
            try await RelevoCluster.publishSigned(.accepted(attempt, agent: holder.identity), by: holder, on: client)
            let granted = try await ask(holder, for: attempt)
            #expect(granted.status == 200, "\(granted.text)")
            let reply = try JSONDecoder().decode(JobSecretsReply.self, from: granted.body)
            #expect(reply.environmentVariables == [EnvironmentVariable(name: "TOKEN", value: Self.secret, secure: true)])
            let refused = try await ask(other, for: attempt)
            #expect(refused.status == 403, "\(refused.text)")
            #expect(!refused.text.contains(Self.secret))
            #expect(try await ask(holder, for: JobAttempt(jobRunID: attempt.jobRunID, attempt: attempt.attempt + 1)).status == 409)

            // Once the job has completed, nobody gets it any more.
            try await RelevoCluster.publishSigned(.finished(attempt, result: .failed, agent: holder.identity.uuid), by: holder, on: client)
            _ = try await cluster.api.waitFor("vault", 1, states: ["failed"], seconds: 30)
            let late = try await ask(holder, for: attempt)
            #expect(late.status == 409, "\(late.text)")
            await client.close()
        }
    }

    /// Issue #14: the artifact token and a token in a material's URL stay off the wire too; the
    /// agent holding the job gets both with its secrets.
    @Test func theArtifactTokenAndMaterialCredentialsTravelOnlyToTheHolder() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeConfig("creds.gocd.yaml", """
            format_version: 10
            pipelines:
              creds:
                materials:
                  src: {git: "https://ci-bot:tok3n-abc@git.invalid/app.git", auto_update: false}
                stages:
                  - build:
                      fetch_materials: false
                      jobs:
                        only:
                          artifacts: [{build: {source: out}}]
                          tasks: [{exec: {command: /bin/true}}]
            """)
            try await cluster.startScheduler()
            #expect(try await cluster.api.post("/go/api/pipelines/creds/schedule", body: RelevoCluster.pinnedSchedule).status == 202)
            let body = try await peekJob(cluster)
            let text = String(decoding: body, as: UTF8.self)
            #expect(!text.contains("tok3n-abc"), "the job message carries the material's password: \(text)")
            let message = try MessageCodec.decodeJob(body)
            #expect(message.artifactToken.isEmpty, "the job message carries the artifact token")
            #expect(message.materials.first?.url == "https://ci-bot:******@git.invalid/app.git")
            #expect(message.needsSecrets)

            let holder = try await cluster.registerPlayedAgent(name: "holder")
            let client = try await AMQPClient.connect(try AMQPSettings(url: cluster.brokerURL, connectionName: "test:holder"))
            try await RelevoCluster.publishSigned(.accepted(message.jobAttempt, agent: holder.identity), by: holder, on: client)
            let request = MessageCodec.encode(JobSecretsRequest(agent: holder.identity.uuid, attempt: message.jobAttempt,
                                                                sentAt: Int(Date().timeIntervalSince1970)))
            let granted = try await cluster.api.request("POST", "/go/api/agents/job_secrets", data: Data(request), headers: [
                "Content-Type": "application/json",
                JobSecretsRequest.signatureHeader: EventSignature.sign(request, credential: holder.credential)])
            #expect(granted.status == 200, "\(granted.text)")
            let reply = try JSONDecoder().decode(JobSecretsReply.self, from: granted.body)
            #expect(reply.materialURLs == ["src": "https://ci-bot:tok3n-abc@git.invalid/app.git"])
            #expect(reply.artifactToken?.count == 64)
            // The scheduler's log names the material without its password.
            #expect(cluster.scheduler?.log.contains("tok3n-abc") == false)
            await client.close()
        }
    }

    /// Issue #14: secrets can leave the YAML. A value encrypted with `relevo encrypt` (GoCD's
    /// encrypted value) and a `{{SECRET:[vault][db]}}` reference to a file-based secrets file reach
    /// the job's tasks, masked in its console; a reference that cannot be resolved fails the job
    /// with the reason.
    @Test func encryptedValuesAndSecretReferencesReachTheJobMasked() async throws {
        try await RelevoCluster.with { cluster in
            let secrets = cluster.root.appendingPathComponent("secrets.json")
            try JSONEncoder().encode(try SecretsFile.new().adding("db", value: "hunter2-db")).write(to: secrets)
            try await cluster.startScheduler(["--secret-configs", "vault=\(secrets.path)"])
            let encrypted = try await runProcessAsync(try builtProduct("relevo"),
                                                      ["encrypt", "badger-pw", "--server", "http://127.0.0.1:\(cluster.port)"])
            #expect(encrypted.status == 0, "\(encrypted.standardError)")
            let value = encrypted.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(GoCipher.isEncrypted(value), "\(value)")
            try cluster.writeUnfetchedPipeline("sealed", stage: "deploy", jobs: [("only", """
                secure_variables:
                  PASSWORD: "\(value)"
                environment_variables:
                  DB: "{{SECRET:[vault][db]}}"
                tasks:
                  - exec: {command: /bin/sh, arguments: [-c, 'test "$PASSWORD" = badger-pw && test "$DB" = hunter2-db && echo "got $PASSWORD and $DB"']}
                """), ("broken", """
                environment_variables:
                  DB: "{{SECRET:[vault][nothing-here]}}"
                tasks:
                  - exec: {command: /bin/true}
                """)])
            try await eventually(20, "the pipeline to load") {
                try await cluster.api.post("/go/api/pipelines/sealed/schedule", body: RelevoCluster.pinnedSchedule).status == 202
            }
            try await cluster.startWorker(.init(name: "w1"))
            let run = try await cluster.api.waitFor("sealed", 1, states: ["passed", "failed"], seconds: 60)
            #expect(run["state"] as? String == "failed", "the broken job fails")
            let console = try await cluster.api.console("sealed", 1, "deploy", "only")
            #expect(console.contains("got ****** and ******"), "\(console)")
            #expect(!console.contains("badger-pw") && !console.contains("hunter2-db"), "\(console)")
            let broken = try await cluster.api.console("sealed", 1, "deploy", "broken")
            #expect(broken.contains("secret config 'vault'") && broken.contains("has no secret 'nothing-here'"), "\(broken)")
            let jobs = try await cluster.api.instance("sealed", 1)?.jobs(ofStage: "deploy") ?? []
            #expect(jobs.first { $0["name"] as? String == "only" }?["result"] as? String == "passed")
        }
    }
}
