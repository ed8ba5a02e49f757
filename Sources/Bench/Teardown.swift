import Dispatch
import Foundation
import Glibc
import Synchronization

/// Everything the benchmark started and must stop: child processes by pid and private brokers
/// by directory. The normal path stops them in order through their owners; this registry is
/// the last resort when the benchmark itself is interrupted (SIGINT, SIGTERM), so that no broker
/// or scheduler outlives it.
final class Teardown: Sendable {
    static let shared = Teardown()

    private struct State {
        var pids: Set<Int32> = []
        var brokerDirectories: [String] = []
        var brokerScript: String?
        var scratchDirectories: [URL] = []
    }

    private let state = Mutex(State())
    // Kept alive for the life of the program; DispatchSource is thread-safe.
    private nonisolated(unsafe) var signalSources: [any DispatchSourceSignal] = []

    func register(pid: Int32) { state.withLock { _ = $0.pids.insert(pid) } }
    func unregister(pid: Int32) { state.withLock { _ = $0.pids.remove(pid) } }

    func register(brokerDirectory: String, script: String) {
        state.withLock {
            $0.brokerDirectories.append(brokerDirectory)
            $0.brokerScript = script
        }
    }

    /// A folder to remove after an interruption (the normal path removes it itself).
    func register(scratch: URL) { state.withLock { $0.scratchDirectories.append(scratch) } }

    func unregister(brokerDirectory: String) {
        state.withLock { $0.brokerDirectories.removeAll { $0 == brokerDirectory } }
    }

    /// On SIGINT or SIGTERM: stop every registered process (SIGTERM, up to 5 s, SIGKILL) and
    /// broker, then exit with 128 + the signal.
    func installSignalHandlers() {
        for signalNumber in [SIGINT, SIGTERM] {
            #if canImport(Darwin)
            // kqueue delivers to the source only if the signal's own disposition does nothing;
            // on Linux, dispatch takes the signal itself and an ignored one would be discarded.
            signal(signalNumber, SIG_IGN)
            #endif
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in
                FileHandle.standardError.write(Data("relevo-bench: interrupted, stopping what it started\n".utf8))
                stopEverything()
                exit(128 + signalNumber)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    private func stopEverything() {
        let (pids, directories, script, scratch) = state.withLock {
            ($0.pids, $0.brokerDirectories, $0.brokerScript, $0.scratchDirectories)
        }
        defer { for url in scratch { try? FileManager.default.removeItem(at: url) } }
        for pid in pids { kill(pid, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, pids.contains(where: { kill($0, 0) == 0 }) {
            usleep(20_000)
        }
        for pid in pids where kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        guard let script else { return }
        for directory in directories {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: script)
            process.arguments = ["stop", "--dir", directory, "--kill"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do {
                try process.run()
                process.waitUntilExit()
            } catch {
                FileHandle.standardError.write(Data("relevo-bench: could not stop the broker in \(directory): \(error)\n".utf8))
            }
        }
    }
}
