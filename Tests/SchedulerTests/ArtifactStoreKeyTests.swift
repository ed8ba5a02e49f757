import Foundation
import NIOCore
import Shared
import Testing

@testable import Scheduler

/// The key that signs artifact tokens is kept across restarts, readable by the owner only; a
/// key that cannot be written stops the scheduler instead of changing at every start (which
/// would void every token given out).
@Suite struct ArtifactStoreKeyTests {
    @Test func theKeyIsKeptAndOnlyTheOwnerReadsIt() async throws {
        try await TemporaryDatabase.withPath { path in
            let data = URL(fileURLWithPath: path).deletingLastPathComponent()
            let first = try ArtifactStore(dataDirectory: data.path)
            let locator = ArtifactLocator(pipeline: "app", pipelineCounter: 1, stage: "build", stageCounter: 1, job: "compile")
            let again = try ArtifactStore(dataDirectory: data.path)
            #expect(first.token(for: locator, attempt: 1) == again.token(for: locator, attempt: 1))
            let attributes = try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent("artifact-token.key").path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
        }
    }

    @Test func aKeyThatCannotBeWrittenStopsTheStore() async throws {
        try await TemporaryDatabase.withPath { path in
            let data = URL(fileURLWithPath: path).deletingLastPathComponent()
            // A folder where the key file would go: the key can be neither read nor written.
            try FileManager.default.createDirectory(at: data.appendingPathComponent("artifact-token.key"), withIntermediateDirectories: true)
            #expect(throws: ArtifactStoreError.self) { try ArtifactStore(dataDirectory: data.path) }
        }
    }
}

/// Every stored file keeps its own checksum, whatever the names beside it.
@Suite struct ArtifactStoreChecksumTests {
    @Test func aFileAndAFolderNamedLikeItsChecksumKeepTheirOwnChecksums() async throws {
        try await TemporaryDatabase.withPath { path in
            let data = URL(fileURLWithPath: path).deletingLastPathComponent()
            let store = try ArtifactStore(dataDirectory: data.path)
            let locator = ArtifactLocator(pipeline: "app", pipelineCounter: 1, stage: "build", stageCounter: 1, job: "compile")
            let files = ["a": "first file\n", "a.sha256/b": "second file\n"]
            for (name, text) in files.sorted(by: { $0.key < $1.key }) {
                let body = AsyncStream<ByteBuffer> { continuation in
                    continuation.yield(ByteBuffer(string: text))
                    continuation.finish()
                }
                _ = try await store.write(body, to: locator, path: try ArtifactPath(name), expectedSHA256: SHA256.hex(of: Array(text.utf8)))
            }
            for (name, text) in files {
                let stored = try #require(try store.file(of: locator, path: try ArtifactPath(name)))
                #expect(stored.sha256 == SHA256.hex(of: Array(text.utf8)), "\(name)")
            }
        }
    }
}
