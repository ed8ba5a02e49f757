import Foundation
import Testing

/// The scheduler's data (database, artifacts, the artifact-token key) is its own: the folder is
/// 0700 and the database files 0600, whatever the umask.
@Suite(.serialized, .timeLimit(.minutes(3))) struct DataDirectoryTests {
    @Test func theDataDirectoryAndDatabaseAreTheOwnersAlone() async throws {
        try await RelevoCluster.with { cluster in
            try await cluster.startScheduler()
            let data = cluster.root.appendingPathComponent("data")
            func mode(_ url: URL) throws -> Int {
                (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int ?? -1) & 0o777
            }
            #expect(try mode(data) == 0o700)
            #expect(try mode(data.appendingPathComponent("relevo.sqlite")) == 0o600)
            #expect(try mode(data.appendingPathComponent("artifact-token.key")) == 0o600)
        }
    }
}
