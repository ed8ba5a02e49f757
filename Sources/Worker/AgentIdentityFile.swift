import Foundation
import Shared

/// The agent's UUID, kept in `<work dir>/agent.uuid` so that a restarted worker is the same agent.
enum AgentIdentityFile {
    static func identity(for settings: WorkerSettings) throws -> AgentIdentity {
        let directory = URL(fileURLWithPath: settings.workDirectory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("agent.uuid")
        let uuid: String
        if FileManager.default.fileExists(atPath: file.path) {
            let stored = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard UUID(uuidString: stored) != nil else {
                throw SettingsError("\(file.path) holds no UUID; delete it to give this agent a new identity")
            }
            uuid = stored
        } else {
            uuid = UUID().uuidString.lowercased()
            try Data("\(uuid)\n".utf8).write(to: file, options: .atomic)
        }
        return AgentIdentity(uuid: uuid, name: settings.name, resources: settings.resources,
                             environments: settings.environments, slots: settings.slots)
    }
}
