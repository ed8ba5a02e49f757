import Foundation
import Shared
@testable import Worker

/// Helpers for job tests with real processes.
enum WorkerTestSupport {
    static let environment = ["PATH": "/usr/bin:/bin", "LC_ALL": "C"]

    /// A fresh `<root>/pipelines/<pipeline>` job directory.
    static func jobDirectory() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-job-\(UUID().uuidString)")
        let directory = root.appendingPathComponent("pipelines/app")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.path
    }

    /// Removes the temporary root of a job directory made by ``jobDirectory()``.
    static func removeJobDirectory(_ directory: String) {
        let root = URL(fileURLWithPath: directory).deletingLastPathComponent().deletingLastPathComponent()
        do {
            try FileManager.default.removeItem(at: root)
        } catch {
            // Best effort: a leftover temporary directory changes no result.
        }
    }

    static func exec(
        _ command: String, _ arguments: String..., runIf: RunIf = .passed, directory: String? = nil,
        onCancel: OnCancelTask? = nil
    ) -> TaskDefinition {
        .exec(ExecTask(command: command, arguments: arguments, workingDirectory: directory, runIf: runIf, onCancel: onCancel))
    }

    static func shell(_ script: String, runIf: RunIf = .passed, onCancel: OnCancelTask? = nil) -> TaskDefinition {
        .exec(ExecTask(command: "/bin/sh", arguments: ["-c", script], runIf: runIf, onCancel: onCancel))
    }

    /// Whether `pid` no longer runs (absent, or a zombie waiting to be reaped).
    static func isGone(_ pid: Int32) -> Bool {
        let stat: String
        do {
            stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        } catch {
            return true  // no /proc entry: the process is gone
        }
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state == "Z" || state == "X"
    }

    /// Polls `condition` until it holds or `timeout` passes; returns whether it held.
    static func eventually(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            do { try await Task.sleep(for: .milliseconds(20)) } catch { return false }
        }
        return await condition()
    }
}

/// A console sink that keeps every chunk it receives.
actor ConsoleRecorder {
    private(set) var chunks: [String] = []

    var text: String { chunks.joined() }

    nonisolated var sink: TaskSequenceRunner.ConsoleSink {
        { chunk in await self.append(chunk) }
    }

    private func append(_ chunk: String) { chunks.append(chunk) }

    /// Waits until the console contains `fragment`.
    nonisolated func waitFor(_ fragment: String, timeout: Duration = .seconds(10)) async -> Bool {
        await WorkerTestSupport.eventually(timeout: timeout) { await self.text.contains(fragment) }
    }
}
