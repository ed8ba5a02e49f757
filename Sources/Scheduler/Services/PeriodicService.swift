import Logging
import ServiceLifecycle

/// Runs `body` every `interval` until shutdown: git polling, config reloading, reconciliation.
struct PeriodicService: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    let body: @Sendable () async -> Void

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await body()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
        }
        logger.debug("periodic service stopped", metadata: ["service": "\(name)"])
    }
}

/// Ends the console streams when the server shuts down, so that an open job page does not hold
/// the shutdown up (the browser reconnects to the next server).
struct ConsoleStreamCloser: Service {
    let signal: ConsoleSignal

    func run() async throws {
        try? await gracefulShutdown()
        signal.close()
    }
}
