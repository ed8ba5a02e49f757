import CProcessShim
import Foundation
import Glibc

/// The two dedicated threads that watch one child, so that neither blocking `waitid` nor `poll`
/// ever runs on Swift's cooperative pool.
///
/// - The waiter blocks in `waitid(WNOWAIT)` until the child ends, has ``RunningProcess`` kill the
///   group and reap the child, then closes the wake pipe.
/// - The reader polls stdout, stderr and the wake pipe, streaming every chunk. Once the child has
///   ended it keeps reading for at most `drain`, so output still in the pipes is delivered while
///   a process that escaped the group and holds the pipes open cannot delay the end.
enum ProcessMonitor {
    /// Starts both threads; they own the three descriptors and close them.
    /// `onReaped` runs once the child's group has been killed and the child reaped.
    static func start(process: RunningProcess, stdout: Int32, stderr: Int32, drain: Duration,
                      onReaped: @escaping @Sendable () -> Void = {}) throws(ProcessError) {
        var wake: [Int32] = [-1, -1]
        guard CProcessShim_pipeCloexec(&wake) == 0 else {
            let code = errno
            process.signalGroup(SIGKILL)
            _ = process.reap()
            onReaped()
            close(stdout)
            close(stderr)
            process.finish(.signaled(SIGKILL))
            throw ProcessError(
                .systemCallFailed, operation: "watch process \(process.pid)",
                message: "pipe failed: \(String(cString: strerror(code)))", errno: code)
        }
        let (wakeRead, wakeWrite) = (wake[0], wake[1])
        let waiter = Thread {
            waitUntilEnded(process.pid)
            _ = process.reap()
            onReaped()
            close(wakeWrite)
        }
        waiter.name = "relevo-wait-\(process.pid)"
        let reader = Thread {
            read(process: process, pipes: [(stdout, .stdout), (stderr, .stderr)], wake: wakeRead, drain: drain)
        }
        reader.name = "relevo-read-\(process.pid)"
        waiter.start()
        reader.start()
    }

    /// Blocks until the child has ended, without reaping it.
    private static func waitUntilEnded(_ pid: Int32) {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
    }

    private static func read(
        process: RunningProcess, pipes: [(Int32, ProcessOutput.Source)], wake: Int32, drain: Duration
    ) {
        var open = pipes
        var deadline: ContinuousClock.Instant?
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !open.isEmpty {
            var timeout: Int32 = -1
            if let deadline {
                let left = ContinuousClock.now.duration(to: deadline)
                if left <= .zero { break }
                timeout = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            }
            var fds = open.map { pollfd(fd: $0.0, events: Int16(POLLIN), revents: 0) }
            if deadline == nil { fds.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if ready == 0 { continue }
            if deadline == nil, fds[open.count].revents != 0 {
                deadline = .now + drain
            }
            var closed: Set<Int32> = []
            for (index, (fd, source)) in open.enumerated() where fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    process.outputContinuation.yield(ProcessOutput(source: source, bytes: Array(buffer[0..<count])))
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    closed.insert(fd)
                }
            }
            for fd in closed { close(fd) }
            open.removeAll { closed.contains($0.0) }
        }
        for (fd, _) in open { close(fd) }
        process.outputContinuation.finish()
        if deadline == nil {
            // The pipes closed before the child ended: wait for the waiter to close the wake pipe.
            var byte: UInt8 = 0
            while Glibc.read(wake, &byte, 1) < 0 && errno == EINTR {}
        }
        close(wake)
        process.finish(process.reap())
    }
}
