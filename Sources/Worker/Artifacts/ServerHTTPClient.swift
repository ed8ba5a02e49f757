import AsyncHTTPClient
import NIOSSL
import Synchronization

/// The HTTP clients that reach the scheduler: the shared one (system CAs) or, for a server
/// certificate signed by a CA of the operator's own (`server_ca_file`), one that trusts exactly
/// that CA. Made once per CA file and kept for the life of the process.
enum ServerHTTPClient {
    private static let clients = Mutex<[String: HTTPClient]>([:])

    static func trusting(_ caFile: String?) -> HTTPClient {
        guard let caFile else { return .shared }
        return clients.withLock { clients in
            if let client = clients[caFile] { return client }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
            clients[caFile] = client
            return client
        }
    }
}
