import CProcessShim
import Glibc

/// Starts child processes with `posix_spawn`: an argument vector and no shell, exactly the
/// environment given, stdin from `/dev/null`, stdout and stderr through pipes, and a session and
/// process group of their own so that a cancel reaches everything they start.
///
/// Foundation's `Process` is not used: it waits for the pipes to close, so a grandchild that
/// keeps them open hides the end of the child.
///
/// The POSIX implementation of ``ProcessLauncher``, the seam a Windows worker would implement.
public struct ProcessRunner: ProcessLauncher {
    public var stopMethod: String { "SIGTERM, then SIGKILL after" }

    /// How long output is still read after the child ended, for a process outside the group
    /// that keeps the pipes open.
    public var drainTimeout: Duration
    /// `relevo-task-supervisor`, if the processes must not outlive this one: each is started
    /// under it, in the same process group, and the group is killed when this process dies.
    public var supervisor: String?
    /// The worker's watchdog, if the processes must not outlive this one but need no supervisor
    /// of their own: each process group is registered with it while it runs.
    public var watchdog: TaskWatchdog?

    /// Creates a runner.
    public init(drainTimeout: Duration = .milliseconds(250), supervisor: String? = nil, watchdog: TaskWatchdog? = nil) {
        self.drainTimeout = drainTimeout
        self.supervisor = supervisor
        self.watchdog = watchdog
    }

    /// Starts `spec`; read ``RunningProcess/output`` and await ``RunningProcess/waitForExit()``.
    ///
    /// - Throws: ``ProcessError`` when the program is missing or not executable, the working
    ///   directory is missing, or a system call fails.
    public func start(_ spec: ProcessSpec) throws(ProcessError) -> RunningProcess {
        let path = try ExecutableLookup.resolve(spec)
        let operation = "run \(spec.executable)"
        var stdout: [Int32] = [-1, -1]
        var stderr: [Int32] = [-1, -1]
        guard CProcessShim_pipeCloexec(&stdout) == 0 else { throw Self.failure("pipe", operation) }
        guard CProcessShim_pipeCloexec(&stderr) == 0 else {
            let error = Self.failure("pipe", operation)
            stdout.forEach { close($0) }
            throw error
        }
        let pid: pid_t
        do {
            pid = try Self.spawn(path: path, spec: spec, supervisor: supervisor, stdout: stdout[1], stderr: stderr[1], operation: operation)
        } catch {
            (stdout + stderr).forEach { close($0) }
            throw error
        }
        close(stdout[1])
        close(stderr[1])
        // The child leads a session of its own: its pid is its process group.
        watchdog?.watch(pid)
        let process = RunningProcess(pid: pid)
        try ProcessMonitor.start(process: process, stdout: stdout[0], stderr: stderr[0], drain: drainTimeout,
                                 onReaped: { [watchdog] in watchdog?.release(pid) })
        return process
    }

    private static func spawn(
        path: String, spec: ProcessSpec, supervisor: String?, stdout: Int32, stderr: Int32, operation: String
    ) throws(ProcessError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { throw failure("posix_spawn_file_actions_init", operation) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        guard posix_spawnattr_init(&attributes) == 0 else { throw failure("posix_spawnattr_init", operation) }
        defer { posix_spawnattr_destroy(&attributes) }

        var steps: [(String, Int32)] = []
        steps.append(("open /dev/null", posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)))
        steps.append(("dup2 stdout", posix_spawn_file_actions_adddup2(&actions, stdout, 1)))
        steps.append(("dup2 stderr", posix_spawn_file_actions_adddup2(&actions, stderr, 2)))
        steps.append(("chdir", CProcessShim_addChdir(&actions, spec.workingDirectory)))
        steps.append(("closefrom", CProcessShim_addCloseFrom(&actions, 3)))
        // A session of its own, no blocked signals, and default dispositions for every signal,
        // whatever this process ignores (SIGPIPE, typically).
        var noSignals = sigset_t()
        var allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        let flags = CProcessShim_spawnSetsidFlag() | Int16(POSIX_SPAWN_SETSIGMASK) | Int16(POSIX_SPAWN_SETSIGDEF)
        steps.append(("setflags", posix_spawnattr_setflags(&attributes, flags)))
        steps.append(("setsigmask", posix_spawnattr_setsigmask(&attributes, &noSignals)))
        steps.append(("setsigdefault", posix_spawnattr_setsigdefault(&attributes, &allSignals)))
        if let (step, code) = steps.first(where: { $0.1 != 0 }) {
            throw ProcessError(
                .systemCallFailed, operation: operation,
                message: "posix_spawn \(step) failed: \(String(cString: strerror(code)))", errno: code)
        }

        // Under the supervisor: `relevo-task-supervisor <our pid> <path> <argv0> <args…>`.
        let program = supervisor ?? path
        let vector = supervisor.map { [$0, String(getpid()), path] } ?? []
        let argv = (vector + [spec.executable] + spec.arguments).map { strdup($0) } + [nil]
        let envp = spec.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        guard code == 0 else {
            // glibc reports exec and chdir failures of the child here.
            let isMissing = code == ENOENT || code == ENOTDIR
            throw ProcessError(
                isMissing ? .programNotFound : code == EACCES || code == ENOEXEC ? .notExecutable : .systemCallFailed,
                operation: operation,
                message: "cannot run '\(spec.executable)' (\(path)) in \(spec.workingDirectory): "
                    + String(cString: strerror(code)),
                errno: code)
        }
        return pid
    }

    private static func failure(_ call: String, _ operation: String) -> ProcessError {
        let code = errno
        return ProcessError(
            .systemCallFailed, operation: operation,
            message: "\(call) failed: \(String(cString: strerror(code)))", errno: code)
    }
}
