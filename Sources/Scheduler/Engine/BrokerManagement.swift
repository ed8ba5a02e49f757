import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One `relevo.*` queue as the queues page and `/go/api/queues` show it.
struct QueueReport: Sendable, Equatable {
    var name: String
    /// Messages waiting for a consumer.
    var ready: Int
    /// Messages delivered and not acked yet (jobs running); `nil` without the management API.
    var unacknowledged: Int?
    /// Consumers attached. Without the management API, a single-active-consumer queue counts only
    /// its active one (that is what `queue.declare-ok` reports).
    var consumers: Int
    /// Whether the queue hands messages to one consumer at a time (`relevo.serial.*`).
    var singleActiveConsumer: Bool
    /// For a single-active-consumer queue: the connection of the consumer that gets the messages
    /// now (Relevo's connection names say which worker: `relevo-worker linux-1 (consume)`).
    var activeConsumer: String?
    /// A quorum queue's replicas (management API only): the node that leads it, every member, and
    /// the members online now. On a single node, the one node.
    var leader: String? = nil
    var members: [String] = []
    var online: [String] = []
}

/// Reads queues and consumers from RabbitMQ's management plugin (its HTTP API), which knows what
/// AMQP itself does not tell a client: unacked counts, every consumer of a single-active-consumer
/// queue and which one is active. Optional: without it, queue depths come from `queue.declare`.
struct BrokerManagement: Sendable {
    /// `http://host:port`, without credentials or trailing slash.
    let base: String
    let authorization: String
    let virtualHost: String

    /// From `http://user:pass@host:port` (credentials default to `guest:guest`); `nil` for
    /// something that is not an http(s) URL.
    init?(url: String, virtualHost: String) {
        guard var components = URLComponents(string: url), let scheme = components.scheme, ["http", "https"].contains(scheme),
              components.host != nil else { return nil }
        let user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "guest"
        let password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding } ?? "guest"
        components.user = nil
        components.password = nil
        components.path = ""
        guard let base = components.string else { return nil }
        self.base = base
        self.authorization = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        self.virtualHost = virtualHost
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Every queue of the virtual host, with its consumers.
    func queues() async throws -> [String: QueueReport] {
        let vhost = virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? virtualHost
        let queues: [QueueJSON] = try await get(
            "/api/queues/\(vhost)?columns=name,messages_ready,messages_unacknowledged,consumers,arguments,leader,members,online")
        let consumers: [ConsumerJSON] = try await get("/api/consumers/\(vhost)")
        // Consumers name their connection by address; the client's own name is on the connection.
        let connections: [ConnectionJSON] = try await get("/api/vhosts/\(vhost)/connections?columns=name,user_provided_name")
        let clientNames = Dictionary(connections.compactMap { connection in connection.user_provided_name.map { (connection.name, $0) } },
                                     uniquingKeysWith: { first, _ in first })
        var reports: [String: QueueReport] = [:]
        for queue in queues {
            let single = queue.arguments?["x-single-active-consumer"] == .bool(true)
            let ofQueue = consumers.filter { $0.queue.name == queue.name }
            let active = single ? ofQueue.first { $0.active == true || $0.activity_status == "single_active" } : nil
            reports[queue.name] = QueueReport(
                name: queue.name, ready: queue.messages_ready ?? 0, unacknowledged: queue.messages_unacknowledged ?? 0,
                consumers: max(queue.consumers ?? 0, ofQueue.count), singleActiveConsumer: single,
                activeConsumer: active.map { consumer in
                    let connection = consumer.channel_details?.connection_name
                    return connection.flatMap { clientNames[$0] } ?? connection ?? consumer.consumer_tag ?? "?"
                }, leader: queue.leader, members: queue.members ?? [], online: queue.online ?? [])
        }
        return reports
    }

    private func get<T: Decodable>(_ path: String) async throws -> T {
        var request = HTTPClientRequest(url: base + path)
        request.headers.add(name: "Authorization", value: authorization)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
        guard response.status == .ok else {
            throw Failure(description: "GET \(base)\(path): HTTP \(response.status.code) \(String(buffer: body).prefix(200))")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw Failure(description: "GET \(base)\(path): unexpected JSON: \(error)")
        }
    }

    private struct QueueJSON: Decodable {
        let name: String
        let messages_ready: Int?
        let messages_unacknowledged: Int?
        let consumers: Int?
        let arguments: [String: ArgumentValue]?
        let leader: String?
        let members: [String]?
        let online: [String]?
    }

    /// A queue argument; only booleans matter here.
    private enum ArgumentValue: Decodable, Equatable {
        case bool(Bool)
        case other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Bool.self) { self = .bool(value) } else { self = .other }
        }
    }

    private struct ConnectionJSON: Decodable {
        let name: String
        let user_provided_name: String?
    }

    private struct ConsumerJSON: Decodable {
        struct Queue: Decodable { let name: String }
        struct Channel: Decodable { let connection_name: String? }
        let queue: Queue
        let consumer_tag: String?
        let active: Bool?
        let activity_status: String?
        let channel_details: Channel?
    }
}
