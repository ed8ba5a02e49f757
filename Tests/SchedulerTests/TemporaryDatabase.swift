import Foundation
import Testing

@testable import Scheduler

/// A database file in a fresh temporary directory, removed when the test ends.
enum TemporaryDatabase {
    /// Runs `body` with the path of a database file that does not exist yet.
    static func withPath(_ body: (String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "relevo-sched-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer {
            do {
                try FileManager.default.removeItem(at: directory)
            } catch {
                Issue.record(error, "removing \(directory.path)")
            }
        }
        try await body(directory.appendingPathComponent("relevo.sqlite").path)
    }
}
