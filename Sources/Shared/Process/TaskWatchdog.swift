import CProcessShim
import Glibc
import Synchronization

/// The worker's watchdog for ordinary tasks: one `relevo-task-supervisor --watch` process for the
/// whole worker, told over a pipe which process groups are running. If the worker dies, even by
/// SIGKILL, the kernel closes the pipe and the watchdog kills every group still listed, so no
/// task outlives its worker (the broker hands the job to another worker meanwhile). Costs two
/// short writes per task, where running each task under its own supervisor costs a process.
public final class TaskWatchdog: Sendable {
    /// The watchdog process.
    public let pid: Int32
    private let pipe: Mutex<Int32>

    private init(pid: Int32, writeEnd: Int32) {
        self.pid = pid
        self.pipe = Mutex(writeEnd)
    }

    /// Starts `relevo-task-supervisor --watch` at `executable`, in a session of its own (a
    /// Ctrl-C meant for the worker does not reach it), with the pipe as its stdin.
    public static func start(executable: String) throws(ProcessError) -> TaskWatchdog {
        let operation = "start the task watchdog \(executable)"
        var ends: [Int32] = [-1, -1]
        guard CProcessShim_pipeCloexec(&ends) == 0 else {
            throw ProcessError(.systemCallFailed, operation: operation, message: "pipe failed: \(String(cString: strerror(errno)))", errno: errno)
        }
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_adddup2(&actions, ends[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        _ = CProcessShim_addCloseFrom(&actions, 3)
        posix_spawnattr_setflags(&attributes, CProcessShim_spawnSetsidFlag())
        let argv = [strdup(executable), strdup("--watch"), nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        close(ends[0])
        guard code == 0 else {
            close(ends[1])
            throw ProcessError(.systemCallFailed, operation: operation, message: String(cString: strerror(code)), errno: code)
        }
        return TaskWatchdog(pid: pid, writeEnd: ends[1])
    }

    /// Process group `group` (a task started in a session of its own) must die with the worker.
    public func watch(_ group: Int32) { send("+\(group)\n") }

    /// Process group `group` has ended.
    public func release(_ group: Int32) { send("-\(group)\n") }

    private func send(_ line: String) {
        pipe.withLock { descriptor in
            var bytes = Array(line.utf8)
            var written = 0
            while written < bytes.count {
                let count = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { return }  // the watchdog is gone: nothing more to tell it
                written += count
            }
        }
    }
}
