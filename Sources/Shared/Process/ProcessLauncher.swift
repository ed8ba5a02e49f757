/// The one seam between Relevo and the operating system's processes: start a program with its
/// output piped, wait for its end, and stop it together with everything it started.
///
/// Everything that runs a task or a git command goes through it; nothing above it knows about
/// process groups, signals or the task supervisor. ``ProcessRunner`` is the POSIX implementation
/// (`posix_spawn`, a session and process group per child, SIGTERM then SIGKILL to the group,
/// `relevo-task-supervisor` or the worker's ``TaskWatchdog`` so that no task outlives its worker).
/// A Windows worker is one more implementation: a Job Object per task, configured to kill its
/// processes when its last handle closes (which replaces both the supervisor and the watchdog), and
/// `CTRL_BREAK_EVENT` then `TerminateJobObject` for ``LaunchedProcess/terminate(grace:)``; the
/// README's "Windows" section lists what else such a worker needs.
public protocol ProcessLauncher: Sendable {
    associatedtype Launched: LaunchedProcess
    /// Starts `spec`: read ``LaunchedProcess/output`` and await ``LaunchedProcess/waitForExit()``.
    ///
    /// - Throws: ``ProcessError`` when the program is missing or not executable, the working
    ///   directory is missing, or the system refuses.
    func start(_ spec: ProcessSpec) throws(ProcessError) -> Launched
    /// How ``LaunchedProcess/terminate(grace:)`` stops a process, for console lines:
    /// "SIGTERM, then SIGKILL after" is followed by the grace period.
    var stopMethod: String { get }
}

/// A process started by a ``ProcessLauncher``.
public protocol LaunchedProcess: Sendable {
    /// Its output, chunk by chunk while it runs; finishes once it has ended and been drained.
    var output: AsyncStream<ProcessOutput> { get }
    /// Waits until it has ended and its output stream has finished.
    func waitForExit() async -> ProcessExitStatus
    /// Waits at most `timeout`; `nil` if it is still running then or the calling task is cancelled.
    func waitForExit(timeout: Duration) async -> ProcessExitStatus?
    /// Stops it and everything it started: politely, up to `grace` to end, then by force.
    /// Safe to call repeatedly and after it ended; returns how it ended.
    @discardableResult
    func terminate(grace: Duration) async -> ProcessExitStatus
}

extension ProcessLauncher {
    /// Runs `spec` to its end, handing each output chunk to `onOutput` in order.
    ///
    /// Cancelling the calling task terminates the process and what it started (``LaunchedProcess/terminate(grace:)``);
    /// the status is still returned.
    public func run(
        _ spec: ProcessSpec,
        grace: Duration = .seconds(10),
        onOutput: (ProcessOutput) async -> Void = { _ in }
    ) async throws(ProcessError) -> ProcessExitStatus {
        let process = try start(spec)
        return await withTaskCancellationHandler {
            for await chunk in process.output { await onOutput(chunk) }
            return await process.waitForExit()
        } onCancel: {
            Task { await process.terminate(grace: grace) }
        }
    }
}
