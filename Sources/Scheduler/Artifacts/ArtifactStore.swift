import Foundation
import NIOCore
import Shared

/// The artifact store on the scheduler's disk: `<data>/artifacts/<locator>/<path>`, with each
/// file's SHA-256 kept beside the tree in `<data>/artifact-checksums/<locator>/<path>.sha256`.
/// Files arrive as streams and are hashed while they are written; nothing is held whole in
/// memory. A file becomes visible only once its checksum matched (it is renamed into place).
struct ArtifactStore: Sendable {
    let root: URL
    let checksums: URL
    /// How much one file, and one job run's artifacts together, may take (0: no limit).
    struct Limits: Sendable, Equatable {
        var fileBytes: Int64 = 0
        var jobBytes: Int64 = 0
    }
    let limits: Limits
    private let tokenKey: [UInt8]

    enum Failure: Error, CustomStringConvertible {
        case badPath(String)
        case checksumMismatch(expected: String, actual: String)
        case conflict(String)
        case io(String)
        /// Over a size limit (HTTP 413).
        case tooLarge(String)

        var description: String {
            switch self {
            case .badPath(let reason): reason
            case .checksumMismatch(let expected, let actual):
                "SHA-256 mismatch: the request announced \(expected) but the bytes received hash to \(actual); nothing was stored"
            case .conflict(let reason): reason
            case .io(let reason): reason
            case .tooLarge(let reason): reason
            }
        }
    }

    /// Opens (creating) the store under `dataDirectory`, with the key that signs upload tokens
    /// (`artifact-token.key`, created once, readable by the owner only).
    init(dataDirectory: String, limits: Limits = Limits()) throws {
        self.limits = limits
        let data = URL(fileURLWithPath: dataDirectory)
        root = data.appendingPathComponent("artifacts")
        checksums = data.appendingPathComponent("artifact-checksums")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: checksums, withIntermediateDirectories: true)
        let keyFile = data.appendingPathComponent("artifact-token.key")
        if let existing = FileManager.default.contents(atPath: keyFile.path), existing.count >= 32 {
            tokenKey = Array(existing)
        } else {
            var key = [UInt8](repeating: 0, count: 32)
            var generator = SystemRandomNumberGenerator()
            for index in key.indices { key[index] = UInt8.random(in: .min ... .max, using: &generator) }
            // A key that cannot be kept would change at the next start and void every token
            // given out: refuse to start instead.
            guard FileManager.default.createFile(atPath: keyFile.path, contents: Data(key), attributes: [.posixPermissions: 0o600]) else {
                throw ArtifactStoreError(description: "cannot write the artifact token key \(keyFile.path)")
            }
            tokenKey = key
        }
    }

    // MARK: Tokens

    /// The token of `attempt` of the job run whose artifacts live at `locator`: it authorises
    /// uploads to `locator` and the reads that attempt's `fetch` tasks resolved to, and only while
    /// that attempt is the job's current one and runs (checked where it is used).
    func token(for locator: ArtifactLocator, attempt: Int) -> String {
        SHA256.hmacHex(key: tokenKey, message: "relevo-artifact:\(locator.description)#\(attempt)")
    }

    func accepts(token: String, for locator: ArtifactLocator, attempt: Int) -> Bool {
        SHA256.constantTimeEquals(token, self.token(for: locator, attempt: attempt))
    }

    // MARK: Paths

    /// The job's folder; every segment of the locator must be a plain name.
    func directory(of locator: ArtifactLocator) throws(Failure) -> URL {
        for segment in [locator.pipeline, locator.stage, locator.job]
        where segment.isEmpty || segment == "." || segment == ".." || segment.contains("/") || segment.contains("\0") {
            throw .badPath("'\(segment)' is not a valid name in an artifact locator")
        }
        return locator.components.reduce(root) { $0.appendingPathComponent($1) }
    }

    func url(of locator: ArtifactLocator, path: ArtifactPath) throws(Failure) -> URL {
        path.segments.reduce(try directory(of: locator)) { $0.appendingPathComponent($1) }
    }

    /// Where a file's checksum is kept: `<folder>.d/…/<name>.sha256`. Folders and checksum
    /// files end differently, so a file `a` (`a.sha256`) and a folder `a.sha256/` (`a.sha256.d/`)
    /// never meet.
    private func checksumURL(of locator: ArtifactLocator, path: ArtifactPath) -> URL {
        let base = locator.components.reduce(checksums) { $0.appendingPathComponent($1) }
        return path.segments.dropLast().reduce(base) { $0.appendingPathComponent($1 + ".d") }
            .appendingPathComponent((path.segments.last ?? "") + ".sha256")
    }

    /// Where a checksum was kept before folders got their `.d` (read only, for artifacts stored
    /// by an earlier version).
    private func legacyChecksumURL(of locator: ArtifactLocator, path: ArtifactPath) -> URL {
        let base = locator.components.reduce(checksums) { $0.appendingPathComponent($1) }
        return path.segments.dropLast().reduce(base) { $0.appendingPathComponent($1) }
            .appendingPathComponent((path.segments.last ?? "") + ".sha256")
    }

    // MARK: Writing

    /// Makes `locator`'s folder `attempt`'s: an earlier attempt's files (an attempt the scheduler
    /// gave up may have uploaded some before it stopped) are removed before the new attempt's
    /// first upload, so that the artifacts of two attempts never mix. The folder's attempt is
    /// kept in `<checksums>/<locator>#attempt`. A job's uploads come one at a time.
    func claim(_ locator: ArtifactLocator, forAttempt attempt: Int) throws(Failure) {
        let folder = try directory(of: locator)
        let checksumFolder = checksums.appendingPathComponent(locator.components.joined(separator: "/"))
        // `#` is in no job name: the marker never meets another job's folder.
        let marker = checksumFolder.deletingLastPathComponent().appendingPathComponent(checksumFolder.lastPathComponent + "#attempt")
        let recorded = (try? String(contentsOf: marker, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard recorded != attempt else { return }
        let hasFiles = !((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).isEmpty
        if hasFiles, recorded != nil || attempt > 1 {
            try? FileManager.default.removeItem(at: folder)
            try? FileManager.default.removeItem(at: checksumFolder)
        }
        do {
            try FileManager.default.createDirectory(at: marker.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(String(attempt).utf8).write(to: marker, options: .atomic)
        } catch {
            throw Failure.io("cannot record the attempt of \(locator)'s artifacts: \(error.localizedDescription)")
        }
    }

    /// Streams `body` into `path` of `locator`'s folder, hashing it on the way; the file
    /// replaces an earlier one only if its SHA-256 equals `expectedSHA256`.
    /// Refuses it (``Failure/tooLarge``) when `declared` (the request's Content-Length), or the
    /// bytes as they come, pass ``limits``.
    func write<Body: AsyncSequence>(_ body: Body, to locator: ArtifactLocator, path: ArtifactPath,
                                    expectedSHA256: String, declared: Int64? = nil) async throws -> (size: Int64, sha256: String)
    where Body.Element == ByteBuffer {
        guard !path.segments.isEmpty else { throw Failure.badPath("an artifact upload needs a file path") }
        if path.segments.first == "cruise-output" {
            throw Failure.badPath("'cruise-output/' is reserved for the job's console log")
        }
        let destination = try url(of: locator, path: path)
        let parent = destination.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: destination.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw Failure.conflict("'\(path)' is already a folder of \(locator)")
        }
        // Checked before any folder is made, so a refused upload leaves nothing. What the job
        // run's other files already take: the file this upload replaces does not count.
        let others = limits.jobBytes > 0 ? (try? size(of: locator)).map { $0 - (fileSize(destination) ?? 0) } ?? 0 : 0
        if let declared, limits.fileBytes > 0, declared > limits.fileBytes {
            throw Failure.tooLarge(Self.overFile(path, declared, limits.fileBytes))
        }
        if let declared, limits.jobBytes > 0, others + declared > limits.jobBytes {
            throw Failure.tooLarge(Self.overJob(locator, others + declared, limits.jobBytes))
        }
        do {
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw Failure.conflict("cannot create the folder for '\(path)': \(error.localizedDescription)")
        }
        let incoming = parent.appendingPathComponent(".incoming-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: incoming.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: incoming.path) else {
            throw Failure.io("cannot create \(incoming.path)")
        }
        let hasher = SHA256()
        var size: Int64 = 0
        do {
            for try await buffer in body {
                buffer.withUnsafeReadableBytes { hasher.update($0) }
                try handle.write(contentsOf: buffer.readableBytesView)
                size += Int64(buffer.readableBytes)
                if limits.fileBytes > 0, size > limits.fileBytes { throw Failure.tooLarge(Self.overFile(path, size, limits.fileBytes)) }
                if limits.jobBytes > 0, others + size > limits.jobBytes {
                    throw Failure.tooLarge(Self.overJob(locator, others + size, limits.jobBytes))
                }
            }
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: incoming)
            throw error
        }
        let actual = hasher.finalizeHex()
        guard actual == expectedSHA256.lowercased() else {
            try? FileManager.default.removeItem(at: incoming)
            throw Failure.checksumMismatch(expected: expectedSHA256, actual: actual)
        }
        let checksum = checksumURL(of: locator, path: path)
        do {
            try FileManager.default.createDirectory(at: checksum.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: checksum, options: .atomic)
            if rename(incoming.path, destination.path) != 0 {
                throw Failure.io("cannot move the upload into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: incoming)
            throw error
        }
        return (size, actual)
    }

    private static func overFile(_ path: ArtifactPath, _ bytes: Int64, _ limit: Int64) -> String {
        "'\(path)' is \(megabytes(bytes)), over the \(megabytes(limit)) a file may take (artifact_max_file_mb)"
    }

    private static func overJob(_ locator: ArtifactLocator, _ bytes: Int64, _ limit: Int64) -> String {
        "the artifacts of \(locator) would take \(megabytes(bytes)), over the \(megabytes(limit)) one job run may take (artifact_max_job_mb)"
    }

    private static func megabytes(_ bytes: Int64) -> String {
        bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }

    private func fileSize(_ url: URL) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value
    }

    /// What the files of `locator` take, the console log included.
    func size(of locator: ArtifactLocator) throws -> Int64 {
        let folder = try directory(of: locator)
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) else { return 0 }
        var total: Int64 = 0
        for case let url as URL in walker {
            let values = try url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey])
            if values.isRegularFile == true { total += Int64(values.fileSize ?? 0) }
        }
        return total
    }

    // MARK: Reading

    /// A stored file and its checksum, or nil if `path` is no file of `locator`.
    func file(of locator: ArtifactLocator, path: ArtifactPath) throws(Failure) -> (url: URL, size: Int64, sha256: String?)? {
        let url = try url(of: locator, path: path)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              attributes[.type] as? FileAttributeType == .typeRegular else { return nil }
        let sha = ((try? String(contentsOf: checksumURL(of: locator, path: path), encoding: .utf8))
            ?? (path.segments.count > 1 ? try? String(contentsOf: legacyChecksumURL(of: locator, path: path), encoding: .utf8) : nil))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return (url, (attributes[.size] as? NSNumber)?.int64Value ?? 0, sha)
    }

    /// Whether `path` is a folder of `locator`.
    func isFolder(_ locator: ArtifactLocator, path: ArtifactPath) -> Bool {
        guard let url = try? url(of: locator, path: path) else { return false }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// One file or folder of a job's artifacts, as GoCD's `.json` listing shows it.
    struct Entry: Sendable, Equatable {
        var name: String
        var path: ArtifactPath
        var isFolder: Bool
        var size: Int64
        var sha256: String?
        var children: [Entry]
    }

    /// The tree under `path` (the job's root by default), sorted by name; partial uploads are
    /// not shown.
    func entries(of locator: ArtifactLocator, under base: ArtifactPath = .root) throws(Failure) -> [Entry] {
        let folder = try url(of: locator, path: base)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var result: [Entry] = []
        for name in names.sorted() where !name.hasPrefix(".incoming-") {
            guard let leaf = try? ArtifactPath(name) else { continue }
            let child = base.appending(leaf)
            if isFolder(locator, path: child) {
                result.append(Entry(name: name, path: child, isFolder: true, size: 0, sha256: nil,
                                    children: try entries(of: locator, under: child)))
            } else if let file = try file(of: locator, path: child) {
                result.append(Entry(name: name, path: child, isFolder: false, size: file.size, sha256: file.sha256, children: []))
            }
        }
        return result
    }
}

/// Why the artifact store cannot open.
struct ArtifactStoreError: Error, CustomStringConvertible {
    let description: String
}
