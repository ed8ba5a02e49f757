import Foundation
import Shared
import Testing
@testable import Worker

@Suite struct JobCancellationTests {
    typealias Support = WorkerTestSupport

    /// A task whose shell starts a background sleeper, prints its pid, then sleeps too; its
    /// `on_cancel` writes a marker file in the job directory.
    private func sleepyJob(
        in directory: String, console: ConsoleRecorder, timeout: Duration? = nil
    ) -> TaskSequenceRunner {
        let onCancel = OnCancelTask(command: "/bin/sh", arguments: ["-c", "echo cleaned > cancel-marker"])
        return TaskSequenceRunner(
            tasks: [
                Support.shell("sleep 30 & echo grandchild=$!; sleep 30", onCancel: onCancel),
                Support.exec("/bin/echo", "never", runIf: .any),
            ],
            workingDirectory: directory, environment: Support.environment,
            inactivityTimeout: timeout, cancelGrace: .seconds(3), console: console.sink)
    }

    /// Waits for the task's `grandchild=<pid>` output line (the task line names it too).
    private func grandchild(in console: ConsoleRecorder) async throws -> Int32 {
        // Generous: the whole suite runs in parallel on two cores (browsers, brokers, builds).
        let found = await Support.eventually(timeout: .seconds(30)) { Self.grandchild(in: await console.text) != nil }
        #expect(found)
        return try #require(Self.grandchild(in: await console.text))
    }

    private static func grandchild(in text: String) -> Int32? {
        // Complete lines only: the last component may still be growing.
        let lines = text.components(separatedBy: "\n").dropLast()
        return lines.lazy.compactMap { line in
            line.hasPrefix("grandchild=") ? Int32(line.dropFirst("grandchild=".count)) : nil
        }.first
    }

    private func expectCancelled(_ outcome: JobOutcome, directory: String, grandchild: Int32) async throws {
        #expect(outcome.result == .cancelled)
        #expect(outcome.tasks.map(\.outcome) == [.cancelled, .passed, .skipped])
        #expect(outcome.tasks[1].isOnCancel)
        #expect(try String(contentsOfFile: directory + "/cancel-marker", encoding: .utf8) == "cleaned\n")
        #expect(await Support.eventually { Support.isGone(grandchild) })
    }

    @Test func inactivityTimeoutCancelsAndRunsOnCancel() async throws {
        let directory = try Support.jobDirectory()
        defer { Support.removeJobDirectory(directory) }
        let console = ConsoleRecorder()
        let started = ContinuousClock.now
        let outcome = await sleepyJob(in: directory, console: console, timeout: .seconds(1)).run()
        #expect(ContinuousClock.now - started < .seconds(25), "cancelled long before the 30 s sleep ended")
        #expect(outcome.cancelReason == .inactivity(.seconds(1)))
        let text = await console.text
        #expect(text.contains("[relevo] Job timed out after 1 second without output\n"))
        #expect(text.contains("[relevo] On cancel task: /bin/sh -c 'echo cleaned > cancel-marker'\n"))
        #expect(text.hasSuffix("[relevo] Job result: cancelled\n"))
        #expect(!text.contains("\nnever\n"))
        try await expectCancelled(outcome, directory: directory, grandchild: try #require(Self.grandchild(in: text)))
    }

    @Test func outputKeepsTheJobAlive() async throws {
        let console = ConsoleRecorder()
        let directory = try Support.jobDirectory()
        defer { Support.removeJobDirectory(directory) }
        let job = TaskSequenceRunner(
            tasks: [Support.shell("for i in $(seq 1 16); do echo tick $i; sleep 0.25; done")],
            workingDirectory: directory, environment: Support.environment,
            inactivityTimeout: .seconds(3), console: console.sink)
        let outcome = await job.run()
        // 4 s in all, never more than 0.25 s without output: wide of the 3 s timeout, so that a
        // loaded machine (the whole suite runs in parallel on two cores) does not fail it.
        #expect(outcome.result == .passed)
    }

    @Test func cancelStopsTheTaskTreeAndRunsOnCancel() async throws {
        let directory = try Support.jobDirectory()
        defer { Support.removeJobDirectory(directory) }
        let console = ConsoleRecorder()
        let job = sleepyJob(in: directory, console: console)
        let running = Task { await job.run() }
        let pid = try await grandchild(in: console)
        await job.cancel()
        #expect(await Support.eventually { Support.isGone(pid) })
        await job.cancel()  // repeated: harmless
        let outcome = await running.value
        #expect(outcome.cancelReason == .requested)
        #expect(await console.text.contains("[relevo] Job cancelled\n"))
        try await expectCancelled(outcome, directory: directory, grandchild: pid)
    }

    @Test func cancellingTheAwaitingTaskCancelsTheJob() async throws {
        let directory = try Support.jobDirectory()
        defer { Support.removeJobDirectory(directory) }
        let console = ConsoleRecorder()
        let job = sleepyJob(in: directory, console: console)
        let running = Task { await job.run() }
        let pid = try await grandchild(in: console)
        running.cancel()
        let outcome = await running.value
        #expect(outcome.cancelReason == .requested)
        try await expectCancelled(outcome, directory: directory, grandchild: pid)
    }

    @Test func cancelBeforeRunRunsNothing() async throws {
        let console = ConsoleRecorder()
        let directory = try Support.jobDirectory()
        defer { Support.removeJobDirectory(directory) }
        let job = TaskSequenceRunner(
            tasks: [Support.exec("/bin/echo", "hi")], workingDirectory: directory,
            environment: Support.environment, console: console.sink)
        await job.cancel()
        let outcome = await job.run()
        #expect(outcome.result == .cancelled)
        #expect(outcome.tasks.map(\.outcome) == [.skipped])
        #expect(await job.run() == outcome)  // run is idempotent
    }
}
