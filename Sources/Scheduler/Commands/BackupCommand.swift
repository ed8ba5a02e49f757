import ArgumentParser
import Foundation
import GRDB
import Shared

/// `relevo-scheduler backup DIR`: a consistent copy of the scheduler's state, taken while it
/// runs: the database through SQLite's online backup (one read transaction, so a copy of one
/// moment), the keys beside it (`cipher.aes`, `artifact-token.key`), and the index of the
/// artifacts (every file's path and size; with `--with-artifacts`, the files themselves, hard
/// linked where the file system allows). Restore: stop the scheduler, put the backup's files in
/// an empty data directory (and the artifacts under `artifacts/`), start it.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up the scheduler's database, keys and artifact index into a new folder under DIR, while it runs.",
        discussion: "Restore: stop the scheduler, copy the backup's relevo.sqlite, cipher.aes and artifact-token.key (and its artifacts/ folder, if taken) into an empty data directory, and start it.")

    @Argument(help: "Where the backup folder is made.", completion: .directory)
    var destination: String

    @Option(name: .customLong("data-dir"), help: "The scheduler's data directory (env RELEVO_SCHEDULER_DATA_DIR; default /var/lib/relevo/server).")
    var dataDirectory: String?

    @Flag(name: .customLong("with-artifacts"), help: "Copy the artifact files too (hard links on the same file system).")
    var withArtifacts = false

    /// The files kept beside the database that a restore needs.
    static let keyFiles = ["cipher.aes", "artifact-token.key"]

    func run() throws {
        let data = URL(fileURLWithPath: dataDirectory ?? ProcessInfo.processInfo.environment["RELEVO_SCHEDULER_DATA_DIR"] ?? "/var/lib/relevo/server")
        let database = data.appendingPathComponent("relevo.sqlite")
        guard FileManager.default.fileExists(atPath: database.path) else {
            throw ValidationError("no database at \(database.path): is --data-dir the scheduler's data directory?")
        }
        let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate, .withTime])
        let folder = URL(fileURLWithPath: destination).appendingPathComponent("relevo-backup-\(stamp)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ValidationError("cannot make \(folder.path): \(error.localizedDescription)")
        }
        // The scheduler keeps writing meanwhile: the backup reads one consistent moment.
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        do {
            let source = try DatabaseQueue(path: database.path, configuration: configuration)
            let target = try DatabaseQueue(path: folder.appendingPathComponent("relevo.sqlite").path)
            try source.backup(to: target)
            try target.close()
            try source.close()
        } catch {
            throw ValidationError("the database backup failed: \(error)")
        }
        chmod(folder.appendingPathComponent("relevo.sqlite").path, 0o600)
        for name in Self.keyFiles where FileManager.default.fileExists(atPath: data.appendingPathComponent(name).path) {
            try FileManager.default.copyItem(at: data.appendingPathComponent(name), to: folder.appendingPathComponent(name))
            chmod(folder.appendingPathComponent(name).path, 0o600)
        }
        // The artifact index: one line per file, `size<TAB>path` under artifacts/.
        let artifacts = data.appendingPathComponent("artifacts")
        var lines: [String] = []
        var bytes: Int64 = 0
        if let walker = FileManager.default.enumerator(at: artifacts, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey]) {
            for case let file as URL in walker {
                // An upload still arriving is not an artifact yet.
                guard let values = try? file.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey]), values.isRegularFile == true,
                      !file.lastPathComponent.hasPrefix(".incoming-") else { continue }
                let relative = String(file.path.dropFirst(artifacts.path.count + 1))
                let size = Int64(values.fileSize ?? 0)
                lines.append("\(size)\t\(relative)")
                bytes += size
                if withArtifacts {
                    let copy = folder.appendingPathComponent("artifacts").appendingPathComponent(relative)
                    try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
                    do { try FileManager.default.linkItem(at: file, to: copy) } catch { try FileManager.default.copyItem(at: file, to: copy) }
                }
            }
        }
        // The checksums the scheduler serves with each artifact file.
        let checksums = data.appendingPathComponent("artifact-checksums")
        if withArtifacts, let walker = FileManager.default.enumerator(at: checksums, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let file as URL in walker where (try? file.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
                let copy = folder.appendingPathComponent("artifact-checksums").appendingPathComponent(String(file.path.dropFirst(checksums.path.count + 1)))
                try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
                try FileManager.default.copyItem(at: file, to: copy)
            }
        }
        try Data((lines.sorted { $0.split(separator: "\t")[1] < $1.split(separator: "\t")[1] }.joined(separator: "\n") + "\n").utf8)
            .write(to: folder.appendingPathComponent("artifacts.index"))
        let size = (try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent("relevo.sqlite").path)[.size] as? NSNumber)?.int64Value ?? 0
        print("backup in \(folder.path): database \(size >> 10) KiB, keys, \(lines.count) artifact files (\(bytes >> 20) MiB) "
              + (withArtifacts ? "copied" : "listed in artifacts.index"))
    }
}
