import ArgumentParser
import CProcessShim
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import ServiceLifecycle
import UnixSignals
import Shared

/// `relevo-scheduler serve`: runs the server until SIGTERM/SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the scheduler: REST API, job dispatch, worker events, git polling.")

    @Option(help: "Server settings file (default: config/relevo.yaml if it exists).")
    var settings: String?
    @Option(name: .customLong("broker-url"), help: "amqp://user:pass@host:port/vhost (env RELEVO_BROKER_URL, which keeps the password off the command line); a cluster: the nodes separated by commas, amqp://user:pass@node1:5672/vhost,node2:5672,node3:5672.")
    var brokerURL: String?
    @Option(name: .customLong("data-dir"), help: "Where the SQLite database lives (env RELEVO_SCHEDULER_DATA_DIR).")
    var dataDirectory: String?
    @Option(name: .customLong("config-dir"), help: "Directory of *.gocd.yaml files (env RELEVO_SCHEDULER_CONFIG_DIR).")
    var configDirectory: String?
    @Option(help: "Address to listen on (env RELEVO_SCHEDULER_HOST).")
    var host: String?
    @Option(help: "Port to listen on (env RELEVO_SCHEDULER_PORT).")
    var port: String?
    @Option(name: .customLong("server-url"), help: "The URL workers use to reach this server.")
    var serverURL: String?
    @Option(name: .customLong("poll-seconds"), help: "Git polling interval.")
    var pollSeconds: String?
    @Option(name: .customLong("tokens-file"), help: "API tokens with roles (env RELEVO_SCHEDULER_TOKENS_FILE); without it the API is open.")
    var tokensFile: String?
    @Option(name: .customLong("webhook-secret"), help: "Secret of the GitHub/GitLab webhooks (env RELEVO_SCHEDULER_WEBHOOK_SECRET).")
    var webhookSecret: String?
    @Option(name: .customLong("broker-management-url"), help: "RabbitMQ's management API, for unacked counts and active consumers (env RELEVO_BROKER_MANAGEMENT_URL).")
    var brokerManagementURL: String?
    @Option(name: .customLong("tls-cert-file"), help: "Serve HTTPS with this certificate chain (PEM; env RELEVO_SCHEDULER_TLS_CERT_FILE), with --tls-key-file.")
    var tlsCertificateFile: String?
    @Option(name: .customLong("tls-key-file"), help: "The private key (PEM) of --tls-cert-file (env RELEVO_SCHEDULER_TLS_KEY_FILE).")
    var tlsKeyFile: String?
    @Option(name: .customLong("artifact-max-file-mb"), help: "The largest artifact file an upload may store, in MiB; 0 for no limit (env RELEVO_SCHEDULER_ARTIFACT_MAX_FILE_MB; default 4096).")
    var artifactMaxFileMB: String?
    @Option(name: .customLong("artifact-max-job-mb"), help: "All of one job run's artifacts together, in MiB; 0 for no limit (env RELEVO_SCHEDULER_ARTIFACT_MAX_JOB_MB; default 16384).")
    var artifactMaxJobMB: String?
    @Option(name: .customLong("artifact-purge-start-mb"), help: "Purge the oldest artifacts when free disk in the data directory falls below this many MiB; 0 never (env RELEVO_SCHEDULER_ARTIFACT_PURGE_START_MB).")
    var artifactPurgeStartMB: String?
    @Option(name: .customLong("artifact-purge-stop-mb"), help: "…until this many MiB are free (env RELEVO_SCHEDULER_ARTIFACT_PURGE_STOP_MB; default: the start value).")
    var artifactPurgeStopMB: String?
    @Option(name: .customLong("artifact-purge-check-seconds"), help: "How often the free disk is checked (default 60).")
    var artifactPurgeCheckSeconds: String?
    @Option(name: .customLong("cipher-file"), help: "The key of encrypted secure values, GoCD's cipher.aes (env RELEVO_SCHEDULER_CIPHER_FILE; default <data-dir>/cipher.aes, made on first start).")
    var cipherFile: String?
    @Option(name: .customLong("secret-configs"), help: "Secret configs for {{SECRET:[id][key]}}: id=path of a file-based secrets plugin secrets.json, comma-separated (env RELEVO_SCHEDULER_SECRET_CONFIGS).")
    var secretConfigs: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        // Artifact transfers pass through 256 KiB buffers on several threads. glibc raises its
        // mmap threshold after such a buffer is freed and then serves them from per-thread
        // arenas, which keep the memory: a 1 GiB download could leave the server 100–200 MB
        // larger. A fixed threshold keeps every such buffer an mmap of its own, returned on free.
        _ = CProcessShim_fixMmapThreshold(128 * 1024)
        var flags: [SchedulerSettings.Key: String] = [:]
        flags[.brokerURL] = brokerURL
        flags[.dataDirectory] = dataDirectory
        flags[.configDirectory] = configDirectory
        flags[.host] = host
        flags[.port] = port
        flags[.serverURL] = serverURL
        flags[.pollSeconds] = pollSeconds
        flags[.tokensFile] = tokensFile
        flags[.webhookSecret] = webhookSecret
        flags[.brokerManagementURL] = brokerManagementURL
        flags[.tlsCertificateFile] = tlsCertificateFile
        flags[.tlsKeyFile] = tlsKeyFile
        flags[.artifactMaxFileMB] = artifactMaxFileMB
        flags[.cipherFile] = cipherFile
        flags[.artifactPurgeStartMB] = artifactPurgeStartMB
        flags[.artifactPurgeStopMB] = artifactPurgeStopMB
        flags[.artifactPurgeCheckSeconds] = artifactPurgeCheckSeconds
        flags[.secretConfigs] = secretConfigs
        flags[.artifactMaxJobMB] = artifactMaxJobMB
        let file = settings ?? (FileManager.default.fileExists(atPath: "config/relevo.yaml") ? "config/relevo.yaml" : nil)
        let settings: SchedulerSettings
        do {
            settings = try SchedulerSettings.resolve(file: file, environment: ProcessInfo.processInfo.environment, flags: flags)
        } catch {
            throw ValidationError("\(error)")
        }
        var logger = Logger(label: "relevo.scheduler")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let tokens: APITokens?
        do {
            tokens = try settings.tokensFile.map(APITokens.load(file:))
        } catch {
            throw ValidationError("\(error)")
        }
        // HTTPS settings checked before anything starts: a wrong file is a clear error at once.
        let server = try Self.server(settings)

        try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
        // The database, the artifacts and the token key are the scheduler's alone.
        chmod(settings.dataDirectory, 0o700)
        let lock: Int32
        do {
            lock = try DataDirectoryLock.acquire(settings.dataDirectory)
        } catch {
            throw ValidationError("\(error)")
        }
        defer { close(lock) }
        let secrets: SecretResolver
        do {
            let cipher = try SecretResolver.loadOrCreateKey(settings.cipherFile
                ?? URL(fileURLWithPath: settings.dataDirectory).appendingPathComponent("cipher.aes").path)
            secrets = SecretResolver(cipher: cipher, configs: settings.secretConfigs)
        } catch {
            throw ValidationError("\(error)")
        }
        let databasePath = URL(fileURLWithPath: settings.dataDirectory).appendingPathComponent("relevo.sqlite").path
        let store = try SchedulerStore(path: databasePath)
        for file in [databasePath, databasePath + "-wal", databasePath + "-shm"] { chmod(file, 0o600) }
        var broker = try AMQPSettings(url: settings.brokerURL, connectionName: "relevo-scheduler (publish)")
        let publisher = try await AMQPClient.connect(broker, logger: logger, waitUpTo: .seconds(120))
        broker.connectionName = "relevo-scheduler (consume)"
        let consumer = try await AMQPClient.connect(broker, logger: logger, waitUpTo: .seconds(120))
        try await publisher.declare(QueueCatalog.baseTopology)
        try await consumer.declare(QueueCatalog.baseTopology)

        let git = GitClient(cacheRoot: URL(fileURLWithPath: settings.dataDirectory).appendingPathComponent("git-cache").path)
        let artifacts = try ArtifactStore(dataDirectory: settings.dataDirectory,
                                          limits: .init(fileBytes: Int64(settings.artifactMaxFileMB) << 20, jobBytes: Int64(settings.artifactMaxJobMB) << 20))
        let repositories = URL(fileURLWithPath: settings.dataDirectory).appendingPathComponent("repos")
        try FileManager.default.createDirectory(at: repositories, withIntermediateDirectories: true)
        let engine = SchedulerEngine(config: ConfigSnapshot(), store: store, publisher: publisher, git: git,
                                     serverURL: settings.serverURL, artifactToken: { artifacts.token(for: $0, attempt: $1) },
                                     management: settings.brokerManagementURL.flatMap { BrokerManagement(url: $0, virtualHost: broker.virtualHost) },
                                     registrationKey: settings.agentRegistrationKey, secrets: secrets, logger: logger)
        let configRepos = ConfigRepositories(dataDirectory: settings.dataDirectory, git: git, logger: logger)
        let reloader = ConfigReloader(directory: URL(fileURLWithPath: settings.configDirectory), engine: engine,
                                      repositories: configRepos, logger: logger)
        await reloader.reloadIfChanged()
        await engine.dispatchUnconfirmedJobs()

        let dataDirectory = settings.dataDirectory
        let retention = ArtifactRetention(engine: engine, artifacts: artifacts, startBytes: Int64(settings.artifactPurgeStartMB) << 20,
                                          stopBytes: Int64(max(settings.artifactPurgeStopMB, settings.artifactPurgeStartMB)) << 20,
                                          logger: logger, freeBytes: { ArtifactRetention.freeSpace(of: dataDirectory) })
        let router = Router(context: RelevoRequestContext.self)
        router.add(middleware: JSONErrorMiddleware(logger: logger))
        router.add(middleware: SameOriginMiddleware())
        let sessions = SignInSessions()
        router.add(middleware: AuthMiddleware(tokens: tokens, artifacts: artifacts, queries: engine.queries, logger: logger, sessions: sessions,
                                              readGrants: { [engine] in await engine.artifactReadGrants(of: $0) }))
        if let tokens {
            logger.info("API tokens loaded", metadata: ["tokens": "\(tokens.count)", "file": "\(settings.tokensFile ?? "")"])
        } else {
            logger.warning("no tokens_file: the API is open to everyone who can reach it", metadata: ["address": "\(settings.host):\(settings.port)"])
        }
        let testReports = TestReports(artifacts: artifacts)
        APIRoutes(engine: engine, logger: logger, testReports: testReports).register(on: router)
        ConsoleRoutes(engine: engine, logger: logger).register(on: router)
        AgentRoutes(engine: engine, logger: logger).register(on: router)
        WebhookRoutes(engine: engine, secret: settings.webhookSecret, logger: logger, configRepos: configRepos).register(on: router)
        ConfigRepoRoutes(engine: engine, repositories: configRepos, logger: logger).register(on: router)
        MetricsRoutes(engine: engine, logger: logger).register(on: router)
        DashboardRoutes(engine: engine, artifacts: artifacts, tokens: tokens, logger: logger,
                        secureCookies: settings.tlsCertificateFile != nil, sessions: sessions,
                        disk: .init(dataDirectory: dataDirectory, purgeStartBytes: retention.startBytes),
                        testReports: testReports).register(on: router)
        ArtifactRoutes(engine: engine, artifacts: artifacts, repositories: repositories, serverURL: settings.serverURL,
                       logger: logger).register(on: router)
        let app = Application(router: router, server: server,
                              configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "Relevo"),
                              logger: logger)
        let lostAfter = settings.agentLostAfter
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: app),
                .init(service: ConsoleStreamCloser(signal: engine.consoleSignal)),
                .init(service: EventConsumerService(client: consumer, publisher: publisher, engine: engine, logger: logger)),
                .init(service: DeadLetterService(client: consumer, engine: engine, logger: logger)),
                .init(service: PeriodicService(name: "config", interval: settings.configReloadInterval, logger: logger) {
                    await reloader.reloadIfChanged()
                }),
                .init(service: PeriodicService(name: "materials", interval: settings.pollInterval, logger: logger) {
                    await engine.pollMaterials()
                }),
                .init(service: PeriodicService(name: "config repositories", interval: settings.pollInterval, logger: logger) {
                    if await !configRepos.poll().isEmpty { await reloader.reloadIfChanged() }
                }),
                .init(service: PeriodicService(name: "timers", interval: .milliseconds(500), logger: logger) {
                    await engine.fireTimers()
                }),
                .init(service: PeriodicService(name: "reconcile", interval: .seconds(1), logger: logger) {
                    await engine.reconcile(lostAfter: lostAfter)
                }),
                .init(service: PeriodicService(name: "artifact purge", interval: .seconds(settings.artifactPurgeCheckSeconds), logger: logger) {
                    await retention.purgeIfLow()
                }),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        let scheme = settings.tlsCertificateFile != nil ? "https" : "http"
        logger.info("relevo-scheduler listening", metadata: ["url": "\(scheme)://\(settings.host):\(settings.port)/go", "broker": "\(AMQPSettings.redacted(settings.brokerURL))"])
        do {
            try await group.run()
        } catch {
            await consumer.close()
            await publisher.close()
            try store.close()
            throw error
        }
        await consumer.close()
        await publisher.close()
        try store.close()
    }

    /// Plain HTTP/1.1, or HTTPS when the settings name a certificate and its key (both or neither).
    static func server(_ settings: SchedulerSettings) throws -> HTTPServerBuilder {
        switch (settings.tlsCertificateFile, settings.tlsKeyFile) {
        case (nil, nil):
            return .http1()
        case (let certificate?, let key?):
            let chain: [NIOSSLCertificate]
            let privateKey: NIOSSLPrivateKey
            do {
                chain = try NIOSSLCertificate.fromPEMFile(certificate)
                privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            } catch {
                throw ValidationError("cannot read the TLS certificate \(certificate) or its key \(key): \(error)")
            }
            guard !chain.isEmpty else { throw ValidationError("no certificate in \(certificate)") }
            return try .tls(tlsConfiguration: TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                       privateKey: .privateKey(privateKey)))
        default:
            throw ValidationError("HTTPS needs both tls_cert_file and tls_key_file")
        }
    }
}
