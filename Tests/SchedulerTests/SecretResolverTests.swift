import Foundation
import Logging
import RelevoTestSupport
import Shared
import Testing

@testable import Scheduler

/// Secure values can leave the YAML (issue #14): GoCD's encrypted values and
/// `{{SECRET:[config][key]}}` references, resolved only for the agent that holds the job.
@Suite struct SecretResolverTests {
    static let cipher = try! GoCipher(key: GoCipher.generateKey())

    /// A secrets file with `db` = `hunter2`; its path.
    static func secretsFile() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secrets-\(UUID().uuidString).json").path
        try JSONEncoder().encode(try SecretsFile.new().adding("db", value: "hunter2")).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func encryptedValuesAndSecretReferencesResolve() throws {
        let path = try Self.secretsFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let resolver = SecretResolver(cipher: Self.cipher, configs: ["vault": path])
        #expect(try resolver.resolve(Self.cipher.encrypt("badger"), name: "A") == "badger")
        #expect(try resolver.resolve("postgres://app:{{SECRET:[vault][db]}}@db/app", name: "B") == "postgres://app:hunter2@db/app")
        #expect(try resolver.resolve("plain", name: "C") == "plain")
    }

    @Test func whatCannotBeResolvedSaysWhy() throws {
        let path = try Self.secretsFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let resolver = SecretResolver(cipher: Self.cipher, configs: ["vault": path])
        func failure(_ text: String) -> String {
            do { _ = try resolver.resolve(text, name: "TOKEN"); return "resolved" } catch { return error.description }
        }
        #expect(failure("{{SECRET:[nope][db]}}").contains("secret config 'nope', which the settings do not name (secret_configs: vault)"))
        #expect(failure("{{SECRET:[vault][missing]}}").contains("has no secret 'missing'"))
        #expect(failure("{{SECRET:[vault]}}").contains("{{SECRET:[<config id>][<key>]}}"))
        let foreign = try GoCipher(key: GoCipher.generateKey()).encrypt("x")
        #expect(failure(foreign).contains("cannot be decrypted with this server's cipher.aes"))
    }

    /// Through the engine: the published message holds neither the encrypted value nor the
    /// reference's target, the variable with a reference becomes secure, and the agent holding
    /// the job gets both resolved.
    @Test func theHolderGetsResolvedValuesAndTheQueueNone() async throws {
        let path = try Self.secretsFile()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await TemporaryDatabase.withPath { database in
            let store = try SchedulerStore(path: database)
            let publisher = InMemoryPublisher()
            let engine = SchedulerEngine(config: ConfigSnapshot(), store: store, publisher: publisher,
                                         git: GitClient(cacheRoot: URL(fileURLWithPath: database).deletingLastPathComponent().appendingPathComponent("git").path),
                                         serverURL: "http://scheduler/go", artifactToken: { "t-\($0)#\($1)" },
                                         secrets: SecretResolver(cipher: Self.cipher, configs: ["vault": path]), logger: Logger(label: "test"))
            var pipeline = Fixture.buildTest
            let sealed = Self.cipher.encrypt("badger")
            pipeline.environmentVariables = [EnvironmentVariable(name: "PASSWORD", value: sealed, secure: true),
                                             EnvironmentVariable(name: "DB_URL", value: "postgres://app:{{SECRET:[vault][db]}}@db/app"),
                                             EnvironmentVariable(name: "LOOKS_ENCRYPTED", value: "AES:not:secret")]
            await engine.apply(config: ConfigSnapshot(pipelines: [pipeline]))
            let (run, actions) = try await store.createRun(of: pipeline, cause: .manual(user: "ana"), materialRevisions: ["app": "abc"], at: Date())
            await engine.perform(actions, run: run)
            let published = try await publisher.messages(toQueue: SchedulerEngineTests.anyQueue)
            let wire = published.map { String(decoding: $0.body, as: UTF8.self) }.joined()
            #expect(!wire.contains("badger") && !wire.contains("hunter2") && !wire.contains(sealed), "\(wire)")
            let message = try MessageCodec.decodeJob(try #require(published.first).body)
            #expect(message.environmentVariables.first { $0.name == "DB_URL" }?.secure == true)
            // A plain variable that only looks encrypted is left as written, in clear.
            #expect(message.environmentVariables.first { $0.name == "LOOKS_ENCRYPTED" } == EnvironmentVariable(name: "LOOKS_ENCRYPTED", value: "AES:not:secret"))
            let attempt = message.jobAttempt
            _ = await engine.handle([.accepted(attempt, agent: SchedulerEngineTests.agent)])
            guard case .granted(let secrets) = await engine.secrets(for: attempt, agent: SchedulerEngineTests.agent.uuid) else {
                Issue.record("secrets not granted"); return
            }
            let values = Dictionary(uniqueKeysWithValues: secrets.environmentVariables.map { ($0.name, $0.value) })
            #expect(values == ["PASSWORD": "badger", "DB_URL": "postgres://app:hunter2@db/app"])
        }
    }
}

/// A git material's `encrypted_password` is decrypted by the scheduler when the config loads.
@Suite struct EncryptedGitPasswordTests {
    static func snapshot(_ password: String) -> ConfigSnapshot {
        let url = GitURL.withCredentials("https://git.example.org/app.git", user: "ci-bot", password: password)!
        return ConfigSnapshot(pipelines: [Fixture.pipeline(stages: [Fixture.stage("build", jobs: [Fixture.job("make")])])].map { pipeline in
            var pipeline = pipeline
            pipeline.materials = [.git(GitMaterial(name: "app", url: url))]
            return pipeline
        })
    }

    @Test func anEncryptedPasswordIsDecryptedIntoTheURL() throws {
        let cipher = try GoCipher(key: GoCipher.generateKey())
        let loaded = ConfigReloader.decryptingPasswords(Self.snapshot(cipher.encrypt("s3cret/pw")), cipher: cipher)
        #expect(loaded.errors.isEmpty)
        #expect(loaded.pipelines.first?.gitMaterials.first?.url == "https://ci-bot:s3cret%2Fpw@git.example.org/app.git")
    }

    @Test func anotherServersPasswordIsAConfigErrorAndThePipelineKeepsItsLastGoodDefinition() throws {
        let foreign = try GoCipher(key: GoCipher.generateKey()).encrypt("x")
        let loaded = ConfigReloader.decryptingPasswords(Self.snapshot(foreign), cipher: try GoCipher(key: GoCipher.generateKey()))
        #expect(loaded.pipelines.isEmpty)
        #expect(loaded.errors.first?.pipeline == "app" && loaded.errors.first?.message.contains("cannot be decrypted") == true)
    }
}
