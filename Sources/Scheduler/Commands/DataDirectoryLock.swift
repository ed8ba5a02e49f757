import Foundation
import Glibc

/// One scheduler per data directory: a second one on the same database would apply events and
/// publish jobs twice, and the first would write from its memory of runs (``RunCache``) over
/// what the second wrote. `serve` holds an exclusive `flock` on `<data>/scheduler.lock` for as
/// long as it runs; the kernel releases it when the process ends, however it ends.
enum DataDirectoryLock {
    /// Takes the lock, or fails at once (no waiting) naming the directory. The descriptor stays
    /// open on purpose until the process exits.
    static func acquire(_ directory: String) throws -> Int32 {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("scheduler.lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw DataDirectoryLockError(message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK {
                throw DataDirectoryLockError(
                    message: "another relevo-scheduler is using the data directory \(directory) (it holds \(path)); stop it first, or give this one another --data-dir")
            }
            throw DataDirectoryLockError(message: "cannot lock \(path): \(String(cString: strerror(code)))")
        }
        return descriptor
    }
}

struct DataDirectoryLockError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
