import Glibc

/// Serialises work on one mirror: first among the tasks of this process (in arrival order,
/// without blocking a thread), then against other processes sharing the cache root through an
/// exclusive `flock` on `<mirror>.lock`.
actor MirrorLock {
    /// One registry per process, so that every ``GitClient`` on the same cache root agrees.
    static let shared = MirrorLock()

    /// Paths held in this process, each with the tasks waiting for it, in order.
    private var held: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Runs `body` while holding the lock on `path`.
    nonisolated func withLock<T: Sendable>(
        _ path: String, _ body: () async throws(GitError) -> T
    ) async throws(GitError) -> T {
        await acquire(path)
        let descriptor: Int32
        do {
            descriptor = try await Self.lockFile(path + ".lock")
        } catch {
            await release(path)
            throw error
        }
        let result: Result<T, GitError>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        close(descriptor)  // closing the descriptor drops the flock
        await release(path)
        return try result.get()
    }

    private func acquire(_ path: String) async {
        guard held[path] != nil else {
            held[path] = []
            return
        }
        await withCheckedContinuation { held[path, default: []].append($0) }
    }

    private func release(_ path: String) {
        guard var waiters = held[path], !waiters.isEmpty else {
            held[path] = nil
            return
        }
        let next = waiters.removeFirst()
        held[path] = waiters
        next.resume()
    }

    /// Opens `path` and takes an exclusive `flock`, polling so that no thread blocks while
    /// another process holds it.
    private static func lockFile(_ path: String) async throws(GitError) -> Int32 {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw GitError(
                .fileSystem, operation: "lock \(path)",
                message: "cannot open the lock file: \(String(cString: strerror(errno)))")
        }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(descriptor)
                throw GitError(
                    .fileSystem, operation: "lock \(path)",
                    message: "flock failed: \(String(cString: strerror(code)))")
            }
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                close(descriptor)
                throw GitError(.cancelled, operation: "lock \(path)", message: "cancelled while waiting for the lock")
            }
        }
        return descriptor
    }
}
