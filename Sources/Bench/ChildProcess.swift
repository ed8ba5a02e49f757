import Foundation
import Glibc

/// A program the benchmark started (scheduler, worker), its output in a log file — not a pipe,
/// which a grandchild could hold open and which would block the child once full.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `process` is started once in `start` and afterwards only asked for its pid and
    // state or signalled, which Foundation's Process allows from any thread.
    let name: String
    let logFile: URL
    private let process: Process

    private init(name: String, process: Process, logFile: URL) {
        self.name = name
        self.process = process
        self.logFile = logFile
    }

    /// Starts `executable` in `directory`, stdout and stderr appended to `<directory>/<name>.log`.
    /// `namespace`: run it on that test host (`ip netns exec`, which execs it: the pid is its own).
    static func start(_ executable: URL, _ arguments: [String], name: String, directory: URL,
                      namespace: String? = nil) throws -> ChildProcess {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw BenchError("start \(name)", "\(executable.path) is missing or not executable (build it: swift build)")
        }
        let logFile = directory.appendingPathComponent("\(name).log")
        guard FileManager.default.createFile(atPath: logFile.path, contents: nil) else {
            throw BenchError("start \(name)", "cannot create \(logFile.path)")
        }
        let handle = try FileHandle(forWritingTo: logFile)
        let process = Process()
        if let namespace {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        process.currentDirectoryURL = directory
        // The benchmark's scheduler takes this registration key and its workers present it.
        var environment = ProcessInfo.processInfo.environment
        environment["RELEVO_SCHEDULER_AGENT_REGISTRATION_KEY"] = Self.registrationKey
        environment["RELEVO_WORKER_REGISTRATION_KEY"] = Self.registrationKey
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        do {
            try process.run()
        } catch {
            try? handle.close()
            throw BenchError("start \(name)", "\(error)")
        }
        try? handle.close()
        Teardown.shared.register(pid: process.processIdentifier)
        return ChildProcess(name: name, process: process, logFile: logFile)
    }

    static let registrationKey = "relevo-bench-" + String(UInt64.random(in: 1...UInt64.max), radix: 16)

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// The last `lines` lines of the log, for error messages.
    func logTail(_ lines: Int = 40) -> String {
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Resident memory (VmRSS) in bytes, or nil when the process is gone.
    func residentBytes() -> Int? { statusBytes("VmRSS") }

    /// Private resident memory (RssAnon: heap, stacks; not the mapped program image, which is
    /// shared by every process running the same binary), in bytes.
    func privateBytes() -> Int? { statusBytes("RssAnon") }

    private func statusBytes(_ field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }

    /// CPU time used so far (user + system), in seconds.
    func cpuSeconds() -> Double? { Self.cpuSeconds(pid: pid) }

    /// CPU time of any process (user + system, from /proc/<pid>/stat), in seconds.
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Sends `signal` (SIGKILL, SIGSTOP, SIGCONT… for the fault suite).
    func signal(_ signal: Int32) {
        guard process.isRunning else { return }
        Glibc.kill(pid, signal)
    }

    /// SIGKILL, and waits for the process to be gone.
    func kill() {
        defer { Teardown.shared.unregister(pid: pid) }
        guard process.isRunning else { return }
        Glibc.kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM (graceful shutdown), then SIGKILL if it is still running after `grace`. Safe to repeat.
    func stop(grace: Duration = .seconds(10)) async {
        defer { Teardown.shared.unregister(pid: pid) }
        guard process.isRunning else { return }
        Glibc.kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            Glibc.kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }
}
