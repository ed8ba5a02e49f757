import Foundation
import Shared
import Synchronization
import Testing
@testable import Worker

/// The task runner against a launcher that is not POSIX: what a Windows worker would plug in. It
/// shows that running, failing and cancelling tasks depend on ``ProcessLauncher`` alone.
@Suite struct ProcessLauncherSeamTests {
    typealias Support = WorkerTestSupport

    @Test func tasksRunThroughTheLauncherTheyAreGiven() async throws {
        let directory = try Support.jobDirectory()
        defer { Support.removeJobDirectory(directory) }
        let launcher = ScriptedLauncher()
        let console = ConsoleRecorder()
        let job = TaskSequenceRunner(
            tasks: [Support.exec("say", "hello"), Support.exec("fail"), Support.exec("say", "after", runIf: .any)],
            workingDirectory: directory, environment: ["A": "1"], launcher: launcher, console: console.sink)
        let outcome = await job.run()
        #expect(outcome.result == .failed)
        #expect(outcome.tasks.map(\.outcome) == [.passed, .failed, .passed])
        #expect(outcome.tasks.map(\.exitStatus) == [.exited(0), .exited(3), .exited(0)])
        let started = launcher.started
        #expect(started.map(\.executable) == ["say", "fail", "say"])
        #expect(started.allSatisfy { $0.environment == ["A": "1"] && $0.workingDirectory == directory })
        let text = await console.text
        #expect(text.contains("hello\n") && text.contains("after\n"), "\(text)")
    }

    @Test func aCancelStopsTheTaskTheLaunchersWayAndRunsItsOnCancel() async throws {
        let directory = try Support.jobDirectory()
        defer { Support.removeJobDirectory(directory) }
        let launcher = ScriptedLauncher()
        let console = ConsoleRecorder()
        let job = TaskSequenceRunner(
            tasks: [Support.exec("hang", onCancel: OnCancelTask(command: "say", arguments: ["cleaned"])), Support.exec("say", "never")],
            workingDirectory: directory, environment: [:], cancelGrace: .seconds(3), launcher: launcher, console: console.sink)
        let running = Task { await job.run() }
        #expect(await Support.eventually { launcher.started.count == 1 })
        await job.cancel()
        let outcome = await running.value
        #expect(outcome.result == .cancelled)
        #expect(launcher.terminations == [.seconds(3)], "the hanging task was stopped once, with the job's grace")
        #expect(launcher.started.map(\.executable) == ["hang", "say"], "its on_cancel ran; the next task did not")
        let text = await console.text
        #expect(text.contains("Stopping the task's processes (a scripted stop after 3"), "\(text)")
        #expect(text.contains("cleaned\n"), "\(text)")
    }
}

/// Runs no process: `say ARGS` prints its arguments and exits 0, `fail` exits 3, `hang` runs
/// until it is terminated.
private final class ScriptedLauncher: ProcessLauncher {
    private let state = Mutex<(started: [ProcessSpec], terminations: [Duration])>(([], []))
    var started: [ProcessSpec] { state.withLock { $0.started } }
    var terminations: [Duration] { state.withLock { $0.terminations } }
    var stopMethod: String { "a scripted stop after" }

    private func recordTermination(_ grace: Duration) { state.withLock { $0.terminations.append(grace) } }

    func start(_ spec: ProcessSpec) throws(ProcessError) -> ScriptedProcess {
        state.withLock { $0.started.append(spec) }
        let process = ScriptedProcess { [self] grace in recordTermination(grace) }
        switch spec.executable {
        case "say":
            process.write(spec.arguments.joined(separator: " ") + "\n")
            process.end(.exited(0))
        case "fail":
            process.end(.exited(3))
        case "hang":
            break
        default:
            throw ProcessError(.programNotFound, operation: "run \(spec.executable)", message: "no scripted program \(spec.executable)")
        }
        return process
    }
}

private final class ScriptedProcess: LaunchedProcess {
    let output: AsyncStream<ProcessOutput>
    private let continuation: AsyncStream<ProcessOutput>.Continuation
    private let onTerminate: @Sendable (Duration) -> Void
    private let state = Mutex<(status: ProcessExitStatus?, waiters: [CheckedContinuation<ProcessExitStatus, Never>])>((nil, []))

    init(onTerminate: @escaping @Sendable (Duration) -> Void) {
        (output, continuation) = AsyncStream.makeStream(of: ProcessOutput.self)
        self.onTerminate = onTerminate
    }

    func write(_ text: String) { continuation.yield(ProcessOutput(source: .stdout, bytes: Array(text.utf8))) }

    func end(_ status: ProcessExitStatus) {
        continuation.finish()
        let waiters = state.withLock { state -> [CheckedContinuation<ProcessExitStatus, Never>] in
            guard state.status == nil else { return [] }
            state.status = status
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume(returning: status) }
    }

    func waitForExit() async -> ProcessExitStatus {
        await withCheckedContinuation { waiter in
            let status = state.withLock { state -> ProcessExitStatus? in
                if state.status == nil { state.waiters.append(waiter) }
                return state.status
            }
            if let status { waiter.resume(returning: status) }
        }
    }

    func waitForExit(timeout: Duration) async -> ProcessExitStatus? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = state.withLock({ $0.status }) { return status }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return state.withLock { $0.status }
    }

    func terminate(grace: Duration) async -> ProcessExitStatus {
        if state.withLock({ $0.status }) == nil {
            onTerminate(grace)
            end(.exited(-1))
        }
        return await waitForExit()
    }
}
