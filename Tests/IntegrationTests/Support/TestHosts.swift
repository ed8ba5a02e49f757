import Foundation

/// Test hosts as network namespaces on a bridge of their own (`scripts/testhosts`): the server
/// address is on this machine's side of the bridge, each host has its own address, and nothing
/// between them goes over loopback. Removed afterwards, whatever the test did.
struct TestHosts: Sendable {
    /// The address on this machine's side of the bridge: where the broker and the scheduler listen.
    let server: String
    /// The hosts, in order: namespace name and address.
    let hosts: [(namespace: String, address: String)]

    static func with<T>(name: String, count: Int, _ body: (TestHosts) async throws -> T) async throws -> T {
        let script = TestBroker.projectRoot.appendingPathComponent("scripts/testhosts")
        let result = try await runProcessAsync(script, ["up", name, String(count)])
        guard result.status == 0 else {
            throw TestSetupError("scripts/testhosts up \(name) \(count) failed (the fleet tests need root): \(result.standardError)")
        }
        var server = ""
        var hosts: [(namespace: String, address: String)] = []
        for line in result.standardOutput.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count == 2 else { continue }
            if parts[0] == "server" { server = parts[1] } else { hosts.append((parts[0], parts[1])) }
        }
        let down = { _ = try? await runProcessAsync(script, ["down", name]) }
        guard !server.isEmpty, hosts.count == count else {
            await down()
            throw TestSetupError("scripts/testhosts printed no hosts: \(result.standardOutput)")
        }
        do {
            let value = try await body(TestHosts(server: server, hosts: hosts))
            await down()
            return value
        } catch {
            await down()
            throw error
        }
    }
}
