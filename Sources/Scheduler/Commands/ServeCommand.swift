import ArgumentParser
import Foundation
import Hummingbird
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
    @Option(name: .customLong("broker-url"), help: "amqp://user:pass@host:port/vhost (env RELEVO_BROKER_URL).")
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
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        var flags: [SchedulerSettings.Key: String] = [:]
        flags[.brokerURL] = brokerURL
        flags[.dataDirectory] = dataDirectory
        flags[.configDirectory] = configDirectory
        flags[.host] = host
        flags[.port] = port
        flags[.serverURL] = serverURL
        flags[.pollSeconds] = pollSeconds
        let file = settings ?? (FileManager.default.fileExists(atPath: "config/relevo.yaml") ? "config/relevo.yaml" : nil)
        let settings: SchedulerSettings
        do {
            settings = try SchedulerSettings.resolve(file: file, environment: ProcessInfo.processInfo.environment, flags: flags)
        } catch {
            throw ValidationError("\(error)")
        }
        var logger = Logger(label: "relevo.scheduler")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
        let store = try SchedulerStore(path: URL(fileURLWithPath: settings.dataDirectory).appendingPathComponent("relevo.sqlite").path)
        var broker = try AMQPSettings(url: settings.brokerURL, connectionName: "relevo-scheduler (publish)")
        let publisher = try await AMQPClient.connect(broker, logger: logger, waitUpTo: .seconds(120))
        broker.connectionName = "relevo-scheduler (consume)"
        let consumer = try await AMQPClient.connect(broker, logger: logger, waitUpTo: .seconds(120))
        try await publisher.declare(QueueCatalog.baseTopology)
        try await consumer.declare(QueueCatalog.baseTopology)

        let git = GitClient(cacheRoot: URL(fileURLWithPath: settings.dataDirectory).appendingPathComponent("git-cache").path)
        let artifacts = try ArtifactStore(dataDirectory: settings.dataDirectory)
        let repositories = URL(fileURLWithPath: settings.dataDirectory).appendingPathComponent("repos")
        try FileManager.default.createDirectory(at: repositories, withIntermediateDirectories: true)
        let engine = SchedulerEngine(config: ConfigSnapshot(), store: store, publisher: publisher, git: git,
                                     serverURL: settings.serverURL, artifactToken: { artifacts.token(for: $0) }, logger: logger)
        let reloader = ConfigReloader(directory: URL(fileURLWithPath: settings.configDirectory), engine: engine, logger: logger)
        await reloader.reloadIfChanged()
        await engine.dispatchUnconfirmedJobs()

        let router = Router()
        APIRoutes(engine: engine, logger: logger).register(on: router)
        ArtifactRoutes(engine: engine, artifacts: artifacts, repositories: repositories, serverURL: settings.serverURL,
                       logger: logger).register(on: router)
        let app = Application(router: router, configuration: .init(address: .hostname(settings.host, port: settings.port),
                                                                   serverName: "Relevo"),
                              logger: logger)
        let lostAfter = settings.agentLostAfter
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: app),
                .init(service: EventConsumerService(client: consumer, publisher: publisher, engine: engine, logger: logger)),
                .init(service: PeriodicService(name: "config", interval: settings.configReloadInterval, logger: logger) {
                    await reloader.reloadIfChanged()
                }),
                .init(service: PeriodicService(name: "materials", interval: settings.pollInterval, logger: logger) {
                    await engine.pollMaterials()
                }),
                .init(service: PeriodicService(name: "reconcile", interval: .seconds(2), logger: logger) {
                    await engine.reconcile(lostAfter: lostAfter)
                }),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        logger.info("relevo-scheduler listening", metadata: ["url": "http://\(settings.host):\(settings.port)/go", "broker": "\(AMQPSettings.redacted(settings.brokerURL))"])
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
}
