import Shared
import Testing

@Suite struct AMQPSettingsTests {
    @Test func parsesAFullURL() throws {
        let settings = try AMQPSettings(url: "amqp://relevo:s%40cret@broker.example:5700/ci%2Fprod?heartbeat=7&connection_timeout=3")
        #expect(settings.host == "broker.example")
        #expect(settings.port == 5700)
        #expect(settings.user == "relevo")
        #expect(settings.password == "s@cret")
        #expect(settings.virtualHost == "ci/prod")
        #expect(settings.heartbeatSeconds == 7)
        #expect(settings.connectTimeout == .seconds(3))
        #expect(settings.tls == nil)
    }

    @Test func appliesDefaults() throws {
        let settings = try AMQPSettings(url: "amqp://localhost")
        #expect(settings.port == 5672)
        #expect(settings.user == "guest")
        #expect(settings.password == "guest")
        #expect(settings.virtualHost == "/")
        #expect(settings.heartbeatSeconds == 10)
        #expect(try AMQPSettings(url: "amqp://h/%2F").virtualHost == "/")
    }

    @Test func amqpsNeedsACAFile() throws {
        #expect(throws: AMQPError.self) { try AMQPSettings(url: "amqps://h") }
        let settings = try AMQPSettings(url: "amqps://h?cacertfile=/etc/ca.pem")
        #expect(settings.port == 5671)
        #expect(settings.tls == AMQPSettings.TLS(caFile: "/etc/ca.pem"))
    }

    @Test(arguments: ["http://h", "amqp://", "amqp://h:0", "amqp://h?heartbeat=x", "amqp://h/a/b", "not a url at all"])
    func rejectsMalformedURLs(_ url: String) {
        #expect {
            try AMQPSettings(url: url)
        } throws: { error in
            (error as? AMQPError)?.code == .invalidSettings && !(error as! AMQPError).isRetriable
        }
    }

    @Test func redactsPasswords() {
        #expect(AMQPSettings.redacted("amqp://u:secret@h:1/v") == "amqp://u:***@h:1/v")
        #expect(AMQPSettings.redacted("amqp://h") == "amqp://h")
        #expect(AMQPSettings.redacted("amqp://u:secret@a:1/v,amqp://u:secret@b:2/v,c:3") == "amqp://u:***@a:1/v,amqp://u:***@b:2/v,c:3")
    }

    @Test func aClusterIsTheFirstURLAndTheOtherNodesInOrder() throws {
        let settings = try AMQPSettings(url: "amqp://u:p@node1:5701/v?heartbeat=3, amqp://u:p@node2:5702/v,node3:5703,node4")
        #expect(settings.addresses.map(\.description) == ["node1:5701", "node2:5702", "node3:5703", "node4:5672"])
        #expect(settings.host == "node1" && settings.user == "u" && settings.virtualHost == "v" && settings.heartbeatSeconds == 3)
        let third = settings.at(settings.addresses[2])
        #expect(third.host == "node3" && third.port == 5703 && third.password == "p" && third.endpoint == "node3:5703/v")
        #expect(try AMQPSettings(url: "amqp://h:1").addresses == [AMQPSettings.Address(host: "h", port: 1)])
    }

    @Test(arguments: ["amqp://u:p@a/v,amqp://x:p@b/v", "amqp://u:p@a/v,amqp://u:p@b/w", "amqp://u:p@a/v,u:p@b", "amqp://a,b:99999", "amqp://a,amqps://b?cacertfile=/c"])
    func refusesAClusterWhoseNodesDisagree(_ url: String) {
        #expect(throws: AMQPError.self) { try AMQPSettings(url: url) }
    }

    @Test func backoffGrowsToItsMaximumWithBoundedJitter() {
        let policy = AMQPSettings.ReconnectPolicy(initial: .milliseconds(100), maximum: .seconds(2), jitter: 0.25)
        #expect(policy.delay(attempt: 1, random: 0.5) == .milliseconds(100))
        #expect(policy.delay(attempt: 2, random: 0.5) == .milliseconds(200))
        #expect(policy.delay(attempt: 4, random: 0.5) == .milliseconds(800))
        #expect(policy.delay(attempt: 10, random: 0.5) == .seconds(2))
        #expect(policy.delay(attempt: 10, random: 0) == .milliseconds(1500))
        #expect(policy.delay(attempt: 10, random: 1) == .milliseconds(2500))
    }
}
