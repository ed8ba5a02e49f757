import Foundation
import Logging
import Shared

/// Where this worker's task processes come from: the platform's ``ProcessLauncher``, set up so
/// that no task outlives the worker. The only part of the worker that knows the platform; the
/// task runner sees the protocol alone. On Linux (and any POSIX system) that is ``ProcessRunner``
/// with `relevo-task-supervisor` for serial jobs and the worker's one ``TaskWatchdog`` for the
/// others; a Windows worker would return its Job Object launcher here (README, "Windows").
enum TaskProcesses {
    /// `relevo-task-supervisor` beside this program: tasks run under it so that they die with
    /// the worker (nil if it is missing; tasks then run directly).
    static let supervisor: String? = {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        let candidate = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("relevo-task-supervisor").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()

    /// The worker's one watchdog for ordinary tasks (`relevo-task-supervisor --watch`): their
    /// process groups are killed if the worker dies. Nil without the supervisor program.
    static let watchdog: TaskWatchdog? = {
        guard let supervisor else { return nil }
        return try? TaskWatchdog.start(executable: supervisor)
    }()

    /// The launcher for one job's tasks. `supervised`: each task under a supervisor of its own,
    /// for `serial` jobs (see ``JobRunner/execute(_:attempt:agent:events:running:supervised:)``).
    static func launcher(supervised: Bool) -> any ProcessLauncher {
        ProcessRunner(supervisor: supervised ? supervisor : nil, watchdog: supervised ? nil : watchdog)
    }

    /// Says at start-up whether tasks can outlive a killed worker.
    static func report(to logger: Logger) {
        if supervisor == nil {
            logger.warning("relevo-task-supervisor is not beside relevo-worker: tasks run directly and may outlive a killed worker")
        } else if let watchdog {
            logger.debug("task watchdog started", metadata: ["pid": "\(watchdog.pid)"])
        } else {
            logger.warning("the task watchdog did not start: tasks of ordinary jobs may outlive a killed worker")
        }
    }
}
