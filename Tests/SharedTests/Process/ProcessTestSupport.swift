import Foundation
import Shared

/// Helpers for tests that run real processes.
enum ProcessTestSupport {
    /// A minimal environment for test children.
    static let environment = ["PATH": "/usr/bin:/bin", "LC_ALL": "C"]

    /// A fresh temporary directory.
    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Removes a temporary directory; a leftover changes no result, so failures are ignored.
    static func remove(_ directory: String) {
        do {
            try FileManager.default.removeItem(atPath: directory)
        } catch {
            // Best effort.
        }
    }

    /// A spec running `/bin/sh -c script`.
    static func shell(_ script: String, in directory: String = "/tmp") -> ProcessSpec {
        ProcessSpec(executable: "/bin/sh", arguments: ["-c", script], environment: environment, workingDirectory: directory)
    }

    /// Everything a process printed, per pipe, and how it ended.
    struct Collected {
        var stdout = ""
        var stderr = ""
        var status: ProcessExitStatus = .exited(-1)
    }

    /// Reads the whole output, then the status.
    static func collect(_ process: RunningProcess) async -> Collected {
        var collected = Collected()
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        for await chunk in process.output {
            switch chunk.source {
            case .stdout: stdout += chunk.bytes
            case .stderr: stderr += chunk.bytes
            }
        }
        collected.stdout = String(decoding: stdout, as: UTF8.self)
        collected.stderr = String(decoding: stderr, as: UTF8.self)
        collected.status = await process.waitForExit()
        return collected
    }

    /// Whether `pid` no longer runs (absent, or a zombie waiting for its new parent to reap it).
    static func isGone(_ pid: Int32) -> Bool {
        let stat: String
        do {
            stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        } catch {
            return true  // no /proc entry: the process is gone
        }
        // The state follows the parenthesised command name: "pid (comm) S ...".
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
