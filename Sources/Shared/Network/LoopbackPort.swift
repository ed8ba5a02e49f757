import Glibc
import Synchronization

/// Free TCP ports on 127.0.0.1 for processes that a test or the benchmark starts and restarts.
///
/// Ports come from 10000–19999, below the kernel's ephemeral range (32768–60999 on Debian), so an
/// outgoing connection never takes a port between the check and the server's `bind`, nor while a
/// restarted server is down. `scripts/broker --port auto` keeps its ports in 20000–31999 for the
/// same reason. One process never hands out a port twice, so parallel tests cannot pick the same.
public enum LoopbackPort {
    private static let handedOut = Mutex(Set<Int>())

    /// A port nothing listens on or is bound to right now, not handed out before by this process.
    public static func unused() -> Int? {
        for _ in 0..<500 {
            let port = Int.random(in: 10000...19999)
            let claimed = handedOut.withLock { ports in ports.insert(port).inserted }
            if claimed, isBindable(port) { return port }
        }
        return nil
    }

    private static func isBindable(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
