import Shared

/// Runs one job's tasks in order on this worker, streaming a masked console log, and returns
/// the job's outcome as a value.
///
/// - `exec` tasks run as processes of their own, started by a ``ProcessLauncher`` (on POSIX, in
///   a process group of their own, no shell); `fetch` tasks go to the caller's fetch handler.
/// - `run_if`: `passed` tasks run while the job passes, `failed` tasks once it has failed,
///   `any` tasks always. A task that exits non-zero, dies of a signal or cannot be started fails
///   the job; none of that throws.
/// - Cancelling — by ``cancel()`` or by cancelling the task awaiting ``run()``, which do the same
///   thing — or going ``inactivityTimeout`` without console output, stops the running task's
///   process group (SIGTERM, ``cancelGrace``, SIGKILL), runs that task's `on_cancel` to its end,
///   skips the rest, and ends the job `cancelled`.
actor TaskSequenceRunner {
    /// Receives console text in order; secure values are already masked.
    typealias ConsoleSink = @Sendable (String) async -> Void
    /// Performs a `fetch` task; a throw fails the task. It is cancelled when the job is.
    typealias FetchHandler = @Sendable (FetchTask) async throws -> Void

    /// The job's tasks, in order.
    nonisolated let tasks: [TaskDefinition]
    /// The job's directory, `<work root>/pipelines/<pipeline>`; tasks run in it or below it.
    nonisolated let workingDirectory: String
    /// The complete environment of every task's process.
    nonisolated let environment: [String: String]
    /// How long the job may go without console output before it is cancelled; `nil` for never.
    nonisolated let inactivityTimeout: Duration?
    /// How long a cancelled task's processes get to end before they are killed (on POSIX,
    /// between SIGTERM and SIGKILL).
    nonisolated let cancelGrace: Duration

    private let launcher: any ProcessLauncher
    private let console: TaskConsole
    private let fetch: FetchHandler

    private var execution: Task<JobOutcome, Never>?
    private var finished = false
    private var stopReason: JobOutcome.CancelReason?
    private var running: (any LaunchedProcess)?
    private var fetching: Task<Void, any Error>?

    /// Prepares a job; nothing runs before ``run()``.
    ///
    /// - Parameters:
    ///   - environment: the merged variables (see ``JobEnvironment``).
    ///   - secureValues: values replaced by `******` in everything sent to `console`.
    ///   - inactivityTimeout: the caller converts GoCD's minutes; `nil` never times out.
    init(
        tasks: [TaskDefinition],
        workingDirectory: String,
        environment: [String: String],
        secureValues: [String] = [],
        inactivityTimeout: Duration? = nil,
        cancelGrace: Duration = .seconds(10),
        launcher: any ProcessLauncher = ProcessRunner(),
        console: @escaping ConsoleSink,
        fetch: @escaping FetchHandler = TaskSequenceRunner.noFetcher
    ) {
        self.tasks = tasks
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.inactivityTimeout = inactivityTimeout
        self.cancelGrace = cancelGrace
        self.launcher = launcher
        self.console = TaskConsole(secrets: secureValues, sink: console)
        self.fetch = fetch
    }

    /// The default fetch handler: fails every fetch task, for workers without an artifact client.
    static let noFetcher: FetchHandler = { task in
        throw TaskError(.fetchFailed, operation: "fetch \(task.source)", message: "no artifact fetcher is configured")
    }

    /// Runs the job once and returns its outcome, after the console sink has received
    /// everything. Calling it again returns the same outcome.
    func run() async -> JobOutcome {
        let execution = self.execution ?? Task { await self.execute() }
        self.execution = execution
        return await withTaskCancellationHandler {
            await execution.value
        } onCancel: {
            Task { await self.cancel() }
        }
    }

    /// Cancels the job: returns once the running task's processes are gone; ``run()`` then
    /// runs its `on_cancel` and returns `cancelled`. Safe to repeat; ignored once the job ended.
    func cancel() async {
        await stop(.requested)
    }

    // MARK: - The script

    private func execute() async -> JobOutcome {
        let watchdog = inactivityTimeout.map(startWatchdog)
        var records: [TaskRecord] = []
        var failed = false
        for (index, task) in tasks.enumerated() {
            guard stopReason == nil, Self.shouldRun(task.runIf, jobFailed: failed) else {
                if stopReason == nil {
                    console.line("[relevo] Task skipped (run_if: \(task.runIf.rawValue)): \(ConsoleFormat.describe(task))")
                }
                let (command, arguments) = ConsoleFormat.commandAndArguments(task)
                records.append(TaskRecord(index: index, command: command, arguments: arguments, outcome: .skipped))
                continue
            }
            let record = await perform(task, index: index)
            records.append(record)
            if record.outcome == .cancelled {
                if let onCancel = task.onCancel {
                    records.append(
                        await runProcess(
                            command: onCancel.command, arguments: onCancel.arguments,
                            directory: onCancel.workingDirectory, index: index, isOnCancel: true))
                }
            } else if record.outcome == .failed {
                failed = true
            }
        }
        watchdog?.cancel()
        let result: JobResult = stopReason != nil ? .cancelled : failed ? .failed : .passed
        finished = true
        console.line("[relevo] Job result: \(result.rawValue)")
        await console.close()
        return JobOutcome(result: result, cancelReason: stopReason, tasks: records)
    }

    private static func shouldRun(_ runIf: RunIf, jobFailed: Bool) -> Bool {
        switch runIf {
        case .passed: !jobFailed
        case .failed: jobFailed
        case .any: true
        }
    }

    private func perform(_ task: TaskDefinition, index: Int) async -> TaskRecord {
        switch task {
        case .exec(let exec):
            return await runProcess(
                command: exec.command, arguments: exec.arguments, directory: exec.workingDirectory,
                index: index, isOnCancel: false)
        case .fetch(let fetchTask):
            return await runFetch(fetchTask, index: index)
        }
    }

    /// Runs a task's or an `on_cancel`'s process; only a task's process is stopped by a cancel.
    private func runProcess(
        command: String, arguments: [String], directory: String?, index: Int, isOnCancel: Bool
    ) async -> TaskRecord {
        let started = ContinuousClock.now
        let label = isOnCancel ? "On cancel task" : "Task"
        console.line("[relevo] \(label): \(ConsoleFormat.commandLine(command, arguments))")
        var record = TaskRecord(index: index, command: command, arguments: arguments, isOnCancel: isOnCancel, outcome: .failed)
        let process: any LaunchedProcess
        do {
            process = try start(command: command, arguments: arguments, directory: directory)
        } catch {
            console.line("[relevo] \(error.message)")
            record.failure = error
            record.duration = started.duration(to: .now)
            console.line("[relevo] \(label) status: failed (\(ConsoleFormat.milliseconds(record.duration))ms)")
            return record
        }
        if !isOnCancel { running = process }
        for await chunk in process.output { console.output(chunk) }
        let status = await process.waitForExit()
        if !isOnCancel { running = nil }
        console.flushOutput()
        record.exitStatus = status
        record.outcome = !isOnCancel && stopReason != nil ? .cancelled : status.isSuccess ? .passed : .failed
        record.duration = started.duration(to: .now)
        console.line(
            "[relevo] \(label) status: \(record.outcome.rawValue) (\(status)) (\(ConsoleFormat.milliseconds(record.duration))ms)")
        return record
    }

    private func start(command: String, arguments: [String], directory: String?) throws(TaskError) -> any LaunchedProcess {
        let operation = "run \(command)"
        let directory = try TaskWorkingDirectory.resolve(directory, in: workingDirectory, operation: operation)
        let spec = ProcessSpec(
            executable: command, arguments: arguments, environment: environment, workingDirectory: directory)
        do {
            return try launcher.start(spec)
        } catch {
            throw TaskError(.cannotRun, operation: operation, message: error.message, isRetriable: error.isRetriable)
        }
    }

    private func runFetch(_ task: FetchTask, index: Int) async -> TaskRecord {
        let started = ContinuousClock.now
        console.line("[relevo] Task: \(ConsoleFormat.describe(.fetch(task)))")
        let (command, arguments) = ConsoleFormat.commandAndArguments(.fetch(task))
        var record = TaskRecord(index: index, command: command, arguments: arguments, outcome: .passed)
        let fetch = self.fetch
        let fetching = Task { try await fetch(task) }
        self.fetching = fetching
        do {
            try await fetching.value
        } catch {
            let failure = error as? TaskError
                ?? TaskError(.fetchFailed, operation: "fetch \(task.source)", message: "\(error)")
            record.outcome = stopReason != nil ? .cancelled : .failed
            record.failure = failure
            if stopReason == nil { console.line("[relevo] \(failure.message)") }
        }
        self.fetching = nil
        if record.outcome == .passed, stopReason != nil { record.outcome = .cancelled }
        record.duration = started.duration(to: .now)
        console.line("[relevo] Task status: \(record.outcome.rawValue) (\(ConsoleFormat.milliseconds(record.duration))ms)")
        return record
    }

    // MARK: - Cancel and timeout

    private func stop(_ reason: JobOutcome.CancelReason) async {
        guard stopReason == nil, !finished else { return }
        stopReason = reason
        switch reason {
        case .requested:
            console.line("[relevo] Job cancelled")
        case .inactivity(let timeout):
            console.line("[relevo] Job timed out after \(ConsoleFormat.describe(timeout)) without output")
        }
        fetching?.cancel()
        guard let process = running else { return }
        console.line("[relevo] Stopping the task's processes (\(launcher.stopMethod) \(ConsoleFormat.describe(cancelGrace)))")
        await process.terminate(grace: cancelGrace)
    }

    /// Wakes when the console has been quiet for `timeout` and cancels the job.
    private func startWatchdog(_ timeout: Duration) -> Task<Void, Never> {
        let console = self.console
        return Task {
            while true {
                do {
                    try await Task.sleep(until: console.lastActivity + timeout, clock: .continuous)
                } catch {
                    return  // the job ended first
                }
                if console.lastActivity.duration(to: .now) >= timeout {
                    await stop(.inactivity(timeout))
                    return
                }
            }
        }
    }
}
