import Foundation
import Shared
import Testing

@testable import Worker

@Suite struct WorkerSettingsTests {
    private func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-worker-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func fileThenEnvironmentThenFlags() throws {
        let path = try file("name: from-file\nresources: [Linux, rpm]\nslots: 2\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let settings = try WorkerSettings.resolve(file: path, environment: ["RELEVO_WORKER_SLOTS": "3"], flags: [.name: "from-flag"])
        #expect(settings.name == "from-flag")
        #expect(settings.resources == ["Linux", "rpm"])
        #expect(settings.slots == 3)
    }

    @Test func mistakesNameFileLineAndColumn() throws {
        let path = try file("name: w\n  \nbogus: 1\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            _ = try WorkerSettings.resolve(file: path, environment: [:], flags: [:])
        } throws: { error in
            "\(error)".hasPrefix("\(path):3:1: unknown setting 'bogus'")
        }
        #expect {
            _ = try WorkerSettings.resolve(file: nil, environment: ["RELEVO_WORKER_SLOTS": "0"], flags: [:])
        } throws: { error in
            "\(error)".contains("RELEVO_WORKER_SLOTS: slots must be a whole number from 1 to 256")
        }
    }
}
