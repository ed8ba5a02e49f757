import Foundation

/// How to reach a broker and how a connection behaves; parsed from an `amqp://` or `amqps://` URL.
public struct AMQPSettings: Sendable, Equatable {
    /// Host name or address of the broker.
    public var host: String
    /// TCP port; 5672 for `amqp`, 5671 for `amqps` unless the URL says otherwise.
    public var port: Int
    /// The virtual host; `/` when the URL has none.
    public var virtualHost: String
    public var user: String
    public var password: String
    /// Heartbeat interval proposed to the broker, in seconds (0 disables heartbeats).
    public var heartbeatSeconds: Int
    /// Shown by `rabbitmqctl list_connections client_properties` and the management UI.
    public var connectionName: String
    /// How long opening the socket and the AMQP handshake may take.
    public var connectTimeout: Duration
    /// How long one synchronous broker round trip (declare, consume, cancel…) may take.
    public var rpcTimeout: Duration
    /// TLS: set for `amqps://` URLs. librabbitmq 0.11 does not load the system CA store, so a
    /// CA file is required.
    public var tls: TLS?
    /// Backoff between reconnection attempts.
    public var reconnect: ReconnectPolicy
    /// Every node of the broker's cluster the client may connect to, in the order given; `host`
    /// and `port` are the first. A client whose node goes away connects to the next one.
    public var addresses: [Address]

    /// One node of a broker cluster.
    public struct Address: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// TLS material for `amqps://`.
    public struct TLS: Sendable, Equatable {
        /// PEM file with the certificate authorities that sign the broker's certificate.
        public var caFile: String
        /// Optional client certificate and key (PEM) for mutual TLS.
        public var certFile: String?
        public var keyFile: String?
        /// Peer and host name verification; on unless explicitly disabled.
        public var verify: Bool

        public init(caFile: String, certFile: String? = nil, keyFile: String? = nil, verify: Bool = true) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.verify = verify
        }
    }

    /// Exponential backoff with jitter: `initial`, doubling up to `maximum` (2 s: after a broker
    /// restart dispatch resumes within seconds; a reconnect attempt is cheap), each delay spread
    /// by ±`jitter` (a fraction) so that a fleet of workers does not reconnect in lockstep.
    public struct ReconnectPolicy: Sendable, Equatable {
        public var initial: Duration
        public var maximum: Duration
        public var jitter: Double

        public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(2), jitter: Double = 0.25) {
            self.initial = initial
            self.maximum = maximum
            self.jitter = jitter
        }

        /// The delay before attempt number `attempt` (1-based), with jitter drawn from `random`.
        public func delay(attempt: Int, random: Double = Double.random(in: 0...1)) -> Duration {
            let initialSeconds = Self.seconds(initial)
            let maximumSeconds = Self.seconds(maximum)
            let exponent = Double(max(0, min(attempt - 1, 30)))
            let base = min(maximumSeconds, initialSeconds * pow(2, exponent))
            let spread = base * jitter * (random * 2 - 1)
            return .milliseconds(Int64(max(0, base + spread) * 1000))
        }

        static func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
    }

    /// Settings for `url`, e.g. `amqp://guest:guest@127.0.0.1:5672/%2F?heartbeat=10`.
    /// Query items understood: `heartbeat` (seconds), `connection_timeout` (seconds),
    /// `cacertfile`, `certfile`, `keyfile`, `verify` (`verify_none` disables it).
    ///
    /// A cluster: several URLs separated by commas, or the first URL followed by `host:port` of
    /// the other nodes (`amqp://u:p@node1:5672/%2F,node2:5672,node3:5672`). Every URL must name the
    /// same user, password, virtual host and scheme; options are the first URL's.
    public init(url: String, connectionName: String = "relevo") throws(AMQPError) {
        let parts = url.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard parts.count > 1 else {
            try self.init(single: url, connectionName: connectionName)
            return
        }
        try self.init(single: parts[0], connectionName: connectionName)
        for part in parts.dropFirst() {
            if part.contains("://") {
                let other = try AMQPSettings(single: part, connectionName: connectionName)
                guard other.user == user, other.password == password, other.virtualHost == virtualHost, (other.tls == nil) == (tls == nil) else {
                    throw AMQPError(.invalidSettings, operation: "parse broker URL",
                                    message: "every URL of a cluster must name the same user, password, virtual host and scheme ('\(Self.redacted(part))' differs from the first)")
                }
                addresses.append(other.addresses[0])
            } else {
                guard let components = URLComponents(string: "amqp://\(part)"), let host = components.host, !host.isEmpty,
                      components.path.isEmpty, components.user == nil else {
                    throw AMQPError(.invalidSettings, operation: "parse broker URL", message: "'\(part)' is neither a URL nor host:port")
                }
                let port = components.port ?? (tls == nil ? 5672 : 5671)
                guard (1...65535).contains(port) else {
                    throw AMQPError(.invalidSettings, operation: "parse broker URL", message: "port out of range in '\(part)'")
                }
                addresses.append(Address(host: host, port: port))
            }
        }
    }

    private init(single url: String, connectionName: String) throws(AMQPError) {
        func invalid(_ why: String) -> AMQPError {
            AMQPError(.invalidSettings, operation: "parse broker URL", message: "\(why) in '\(Self.redacted(url))'")
        }
        guard let components = URLComponents(string: url) else { throw invalid("not a URL") }
        let secure: Bool
        switch components.scheme?.lowercased() {
        case "amqp": secure = false
        case "amqps": secure = true
        default: throw invalid("scheme must be amqp or amqps")
        }
        guard let host = components.host, !host.isEmpty else { throw invalid("no host") }
        self.host = host
        self.port = components.port ?? (secure ? 5671 : 5672)
        guard (1...65535).contains(self.port) else { throw invalid("port out of range") }
        self.user = components.user.flatMap { $0.removingPercentEncoding } ?? "guest"
        self.password = components.password.flatMap { $0.removingPercentEncoding } ?? "guest"
        let path = components.percentEncodedPath
        if path.isEmpty || path == "/" {
            self.virtualHost = "/"
        } else {
            let encoded = String(path.dropFirst())
            guard !encoded.contains("/"), let vhost = encoded.removingPercentEncoding else {
                throw invalid("virtual host must be one path segment (encode '/' as %2F)")
            }
            self.virtualHost = vhost
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        self.heartbeatSeconds = 10
        if let value = query["heartbeat"] {
            guard let seconds = Int(value), seconds >= 0 else { throw invalid("heartbeat must be a whole number of seconds") }
            self.heartbeatSeconds = seconds
        }
        self.connectTimeout = .seconds(5)
        if let value = query["connection_timeout"] {
            guard let seconds = Int(value), seconds > 0 else { throw invalid("connection_timeout must be a positive number of seconds") }
            self.connectTimeout = .seconds(seconds)
        }
        self.rpcTimeout = .seconds(15)
        self.connectionName = connectionName
        self.reconnect = ReconnectPolicy()
        self.addresses = [Address(host: host, port: port)]
        if secure {
            guard let ca = query["cacertfile"], !ca.isEmpty else {
                throw invalid("amqps needs ?cacertfile=PATH (librabbitmq does not read the system CA store)")
            }
            self.tls = TLS(caFile: ca, certFile: query["certfile"], keyFile: query["keyfile"],
                           verify: query["verify"] != "verify_none")
        } else {
            self.tls = nil
        }
    }

    /// The URL (or each URL of a cluster's list) with its password replaced, for logs and errors.
    public static func redacted(_ url: String) -> String {
        if url.contains(",") { return url.split(separator: ",", omittingEmptySubsequences: false).map { redacted(String($0)) }.joined(separator: ",") }
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }

    /// `host:port/vhost`, for logs.
    public var endpoint: String { "\(Address(host: host, port: port))\(virtualHost == "/" ? "/" : "/" + virtualHost)" }

    /// These settings aimed at `address` (one node of ``addresses``).
    public func at(_ address: Address) -> AMQPSettings {
        var settings = self
        settings.host = address.host
        settings.port = address.port
        return settings
    }
}
