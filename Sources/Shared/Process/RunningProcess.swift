import CProcessShim
import Glibc
import Synchronization

/// A child started by ``ProcessRunner``: its output as it comes, its end as a value, and a way to
/// stop it together with everything it started.
///
/// The child leads its own session and process group, whose id is ``pid``. Every signal sent
/// here goes to the whole group. When the child ends, the group is sent SIGKILL before the child
/// is reaped, so no grandchild survives it and the group id can never name a recycled process.
public final class RunningProcess: LaunchedProcess {
    /// The child's process id, which is also its process-group and session id.
    public let pid: Int32
    /// The child's output, chunk by chunk while it runs. The stream finishes once both pipes are
    /// closed, or shortly after the child ended if something it started still holds them.
    public let output: AsyncStream<ProcessOutput>

    let outputContinuation: AsyncStream<ProcessOutput>.Continuation
    private let state = Mutex(State())

    private struct State {
        /// Set once the child is reaped; from then on its pid may belong to someone else.
        var reaped: ProcessExitStatus?
        /// Set once the child is reaped and its output is drained.
        var finished: ProcessExitStatus?
        var waiters: [UInt64: CheckedContinuation<ProcessExitStatus?, Never>] = [:]
        var cancelledWaiters: Set<UInt64> = []
        var nextWaiter: UInt64 = 0
    }

    init(pid: Int32) {
        self.pid = pid
        (output, outputContinuation) = AsyncStream.makeStream(of: ProcessOutput.self, bufferingPolicy: .unbounded)
    }

    /// Whether the child has ended (its output may still be draining).
    public var hasExited: Bool { state.withLock { $0.reaped != nil } }

    /// Waits until the child has ended and its output stream has finished.
    ///
    /// Cancelling the calling task does not interrupt the wait: use ``terminate(grace:)``.
    public func waitForExit() async -> ProcessExitStatus {
        // An uncancellable waiter is only ever resumed with the final status.
        await wait(cancellable: false) ?? .exited(-1)
    }

    /// Waits at most `timeout` for the child to end; `nil` if it is still running then or if the
    /// calling task is cancelled.
    public func waitForExit(timeout: Duration) async -> ProcessExitStatus? {
        if let finished = state.withLock({ $0.finished }) { return finished }
        return await withTaskGroup(of: ProcessExitStatus?.self) { group in
            group.addTask { await self.wait(cancellable: true) }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                } catch {
                    // Cancelled because the process ended first, or the caller was cancelled:
                    // either way this child's answer is "not within the timeout".
                }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Stops the child and its whole process group: SIGTERM, up to `grace` to end, then SIGKILL.
    ///
    /// Safe to call repeatedly, concurrently and after the child ended; returns how it ended. If
    /// the calling task is already cancelled, the grace period is cut short.
    @discardableResult
    public func terminate(grace: Duration) async -> ProcessExitStatus {
        signalGroup(SIGTERM)
        if let status = await waitForExit(timeout: grace) { return status }
        signalGroup(SIGKILL)
        return await waitForExit()
    }

    /// Sends `signal` to the child's process group; does nothing once the child has been reaped.
    public func signalGroup(_ signal: Int32) {
        state.withLock { state in
            // Under the lock, the child is not yet reaped, so its pid still names our group.
            guard state.reaped == nil else { return }
            _ = kill(-pid, signal)
        }
    }

    // MARK: - Called by ProcessMonitor

    /// Kills whatever is left of the group, then reaps the child, which has already ended.
    func reap() -> ProcessExitStatus {
        state.withLock { state in
            if let reaped = state.reaped { return reaped }
            _ = kill(-pid, SIGKILL)
            var raw: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &raw, 0) } while result < 0 && errno == EINTR
            let status: ProcessExitStatus
            if result < 0 {
                // Someone else reaped our child (SIGCHLD set to SIG_IGN): its status is lost.
                status = .exited(-1)
            } else if CProcessShim_exited(raw) != 0 {
                status = .exited(CProcessShim_exitStatus(raw))
            } else {
                status = .signaled(CProcessShim_termSignal(raw))
            }
            state.reaped = status
            return status
        }
    }

    /// Publishes the final status once the output has been drained.
    func finish(_ status: ProcessExitStatus) {
        outputContinuation.finish()
        let waiters = state.withLock { state in
            state.finished = status
            state.cancelledWaiters = []
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    // MARK: - Waiting

    /// Waits for ``finish(_:)``; when `cancellable`, cancelling the calling task resumes with `nil`.
    private func wait(cancellable: Bool) async -> ProcessExitStatus? {
        let key = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let register = { (continuation: CheckedContinuation<ProcessExitStatus?, Never>) in
            let immediate: ProcessExitStatus?? = self.state.withLock { state in
                if let finished = state.finished { return .some(finished) }
                if state.cancelledWaiters.remove(key) != nil { return .some(nil) }
                state.waiters[key] = continuation
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
        guard cancellable else {
            return await withCheckedContinuation { register($0) }
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { register($0) }
        } onCancel: {
            let waiter = state.withLock { state in
                guard state.finished == nil else { return CheckedContinuation<ProcessExitStatus?, Never>?.none }
                guard let waiter = state.waiters.removeValue(forKey: key) else {
                    // The handler ran before the continuation was registered: leave a note.
                    state.cancelledWaiters.insert(key)
                    return nil
                }
                return waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}
