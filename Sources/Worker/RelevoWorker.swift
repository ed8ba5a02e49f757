import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import Shared

/// `relevo-worker`: one Relevo agent. Settings come from flags, `RELEVO_*` environment
/// variables or a settings file (see `WorkerSettings`).
@main
struct RelevoWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relevo-worker",
        abstract: "A Relevo agent: takes jobs from RabbitMQ, runs them, reports their results.")

    @Option(help: "A YAML settings file (keys: broker_url, name, resources, environments, slots, work_dir, server_url, heartbeat_seconds, registration_key, server_ca_file).")
    var config: String?
    @Option(name: .customLong("broker-url"), help: "amqp://user:pass@host:port/vhost (env RELEVO_BROKER_URL, which keeps the password off the command line); a cluster: the nodes separated by commas, amqp://user:pass@node1:5672/vhost,node2:5672,node3:5672.")
    var brokerURL: String?
    @Option(help: "The agent's name (env RELEVO_WORKER_NAME).")
    var name: String?
    @Option(help: "Comma-separated resources, e.g. linux,rpm (env RELEVO_WORKER_RESOURCES).")
    var resources: String?
    @Option(help: "Comma-separated environments (env RELEVO_WORKER_ENVIRONMENTS).")
    var environments: String?
    @Option(help: "How many jobs run at once (env RELEVO_WORKER_SLOTS).")
    var slots: String?
    @Option(name: .customLong("work-dir"), help: "The agent's work directory (env RELEVO_WORKER_WORK_DIR).")
    var workDirectory: String?
    @Option(name: .customLong("server-url"), help: "The scheduler's URL, e.g. http://127.0.0.1:8153/go (env RELEVO_WORKER_SERVER_URL).")
    var serverURL: String?
    @Option(name: .customLong("server-ca-file"), help: "The CA certificate (PEM) that signed an https server URL's certificate (env RELEVO_WORKER_SERVER_CA_FILE).")
    var serverCAFile: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        var flags: [WorkerSettings.Key: String] = [:]
        flags[.brokerURL] = brokerURL
        flags[.name] = name
        flags[.resources] = resources
        flags[.environments] = environments
        flags[.slots] = slots
        flags[.workDirectory] = workDirectory
        flags[.serverURL] = serverURL
        flags[.serverCAFile] = serverCAFile
        let settings: WorkerSettings
        do {
            settings = try WorkerSettings.resolve(file: config, environment: ProcessInfo.processInfo.environment, flags: flags)
        } catch {
            throw ValidationError("\(error)")
        }
        var logger = Logger(label: "relevo.worker")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let identity = try AgentIdentityFile.identity(for: settings)
        let credential: [UInt8]
        do {
            credential = try await AgentRegistration(settings: settings, identity: identity, logger: logger).credential()
        } catch let failure as AgentRegistration.Failure {
            throw ValidationError(failure.description)
        }
        let service = WorkerService(settings: settings, identity: identity, credential: credential,
                                    executor: JobRunner(workDirectory: settings.workDirectory, serverURL: settings.serverURL,
                                                        serverCAFile: settings.serverCAFile, logger: logger),
                                    logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
