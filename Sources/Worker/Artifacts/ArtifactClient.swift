import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Shared

/// Moves artifact bytes between this worker and the scheduler over HTTP, streamed both ways
/// (a file is read and written in chunks, never held whole), each file checked with SHA-256.
struct ArtifactClient: Sendable {
    let serverURL: String
    let logger: Logger
    /// The job's own token, locator and attempt: shown when reading artifacts from a server that
    /// requires API tokens (it grants reading what the job's fetches resolved to, nothing else).
    var credentials: (token: String, locator: ArtifactLocator, attempt: Int)?
    /// Attempts per file for failures that may pass (connection errors, 5xx).
    var attempts = 4
    /// The client that reaches the scheduler (trusting its CA, see ``ServerHTTPClient``).
    var http: HTTPClient = .shared

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let chunkSize = 256 * 1024

    // MARK: Upload

    /// Uploads `file` to `path` of the job's artifact root; retried on transient failures.
    func upload(_ file: String, size: Int64, to path: ArtifactPath, locator: ArtifactLocator, token: String, attempt jobAttempt: Int) async throws {
        let sha = try Self.sha256(of: file)
        let url = locator.fileURL(server: serverURL, path: path.segments)
        var lastError: any Error = Failure(description: "not attempted")
        for attempt in 1...attempts {
            var request = HTTPClientRequest(url: url)
            request.method = .PUT
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: ArtifactLocator.attemptHeader, value: String(jobAttempt))
            request.headers.add(name: "X-Relevo-SHA256", value: sha)
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.body = .stream(FileChunks(path: file), length: .known(size))
            do {
                let response = try await http.execute(request, timeout: .hours(6))
                let body = try await response.body.collect(upTo: 1 << 20)
                if response.status == .created || response.status == .ok { return }
                let message = Self.message(from: body) ?? "HTTP \(response.status.code)"
                let failure = Failure(description: "upload of \(path) refused (HTTP \(response.status.code)): \(message)")
                // A 4xx will not change by retrying, except a checksum mismatch (the bytes may
                // have been damaged on the way).
                if (400..<500).contains(Int(response.status.code)) && response.status.code != 422 { throw failure }
                lastError = failure
            } catch let failure as Failure {
                throw failure
            } catch {
                lastError = error
            }
            if attempt < attempts {
                logger.warning("artifact upload failed; retrying", metadata: ["path": "\(path)", "attempt": "\(attempt)", "error": "\(lastError)"])
                try await Task.sleep(for: .milliseconds(250 << attempt))
            }
        }
        throw Failure(description: "upload of \(path) failed after \(attempts) attempts: \(lastError)")
    }

    // MARK: Download

    /// One file of a listing.
    struct RemoteFile: Sendable, Equatable {
        let path: [String]
        let size: Int64?
    }

    /// Fetches `source` of `locator`: the file itself (`isFile`) into `destination/<name>`, or
    /// every file below the folder into `destination/<folder name>/…`. Returns the files written.
    func fetch(_ source: ArtifactPath, isFile: Bool, from locator: ArtifactLocator, into destination: String) async throws -> [String] {
        guard let name = source.segments.last else {
            throw Failure(description: "a fetch needs a source path")
        }
        var files: [(remote: [String], local: String)] = []
        if isFile {
            files = [(source.segments, destination + "/" + name)]
        } else {
            let listed = try await list(locator)
            let below = listed.filter { Array($0.path.prefix(source.segments.count)) == source.segments && $0.path.count > source.segments.count }
            guard !below.isEmpty else {
                throw Failure(description: "\(locator) has no artifact folder '\(source)'")
            }
            for file in below {
                files.append((file.path, ([destination, name] + file.path.dropFirst(source.segments.count)).joined(separator: "/")))
            }
        }
        for file in files { try await download(file.remote, of: locator, to: file.local) }
        return files.map(\.local)
    }

    /// The files (not folders) of a job's artifacts, from GoCD's `.json` listing.
    func list(_ locator: ArtifactLocator) async throws -> [RemoteFile] {
        var request = HTTPClientRequest(url: locator.listingURL(server: serverURL))
        request.method = .GET
        addCredentials(to: &request)
        let response = try await http.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 << 20)
        guard response.status == .ok else {
            throw Failure(description: "cannot list the artifacts of \(locator) (HTTP \(response.status.code)): \(Self.message(from: body) ?? "")")
        }
        let entries = try JSONDecoder().decode([ListingEntry].self, from: Data(body.readableBytesView))
        var files: [RemoteFile] = []
        func collect(_ entries: [ListingEntry], prefix: [String]) {
            for entry in entries {
                if entry.type == "folder" {
                    if prefix.isEmpty && entry.name == "cruise-output" { continue }
                    collect(entry.files ?? [], prefix: prefix + [entry.name])
                } else {
                    files.append(RemoteFile(path: prefix + [entry.name], size: entry.size))
                }
            }
        }
        collect(entries, prefix: [])
        return files
    }

    private struct ListingEntry: Decodable {
        let name: String
        let type: String
        let files: [ListingEntry]?
        let size: Int64?
    }

    /// Streams one file to `local` (through a temporary file renamed into place), checking the
    /// SHA-256 the server announces; retried on transient failures.
    func download(_ remote: [String], of locator: ArtifactLocator, to local: String) async throws {
        let url = locator.fileURL(server: serverURL, path: remote)
        let folder = (local as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var lastError: any Error = Failure(description: "not attempted")
        for attempt in 1...attempts {
            let partial = folder + "/.relevo-fetch-\(UUID().uuidString)"
            // Every failure that may pass waits before the next attempt (5xx, damaged bytes,
            // connection errors alike).
            func backOff() async throws {
                guard attempt < attempts else { return }
                logger.warning("artifact fetch failed; retrying", metadata: ["url": "\(url)", "attempt": "\(attempt)", "error": "\(lastError)"])
                try await Task.sleep(for: .milliseconds(250 << attempt))
            }
            do {
                var request = HTTPClientRequest(url: url)
                request.method = .GET
                addCredentials(to: &request)
                let response = try await http.execute(request, timeout: .hours(6))
                guard response.status == .ok else {
                    let body = try await response.body.collect(upTo: 1 << 20)
                    let failure = Failure(description: "cannot fetch \(remote.joined(separator: "/")) of \(locator) (HTTP \(response.status.code)): \(Self.message(from: body) ?? "")")
                    if (400..<500).contains(Int(response.status.code)) { throw failure }
                    lastError = failure
                    try await backOff()
                    continue
                }
                let expected = response.headers.first(name: "X-Relevo-SHA256")
                guard FileManager.default.createFile(atPath: partial, contents: nil),
                      let handle = FileHandle(forWritingAtPath: partial) else {
                    throw Failure(description: "cannot create \(partial)")
                }
                let hasher = SHA256()
                do {
                    for try await buffer in response.body {
                        try buffer.withUnsafeReadableBytes { bytes in
                            hasher.update(bytes)
                            try handle.write(contentsOf: Data(bytes))
                        }
                    }
                    try handle.close()
                } catch {
                    try? handle.close()
                    throw error
                }
                let actual = hasher.finalizeHex()
                if let expected, expected.lowercased() != actual {
                    lastError = Failure(description: "\(remote.joined(separator: "/")) of \(locator) arrived damaged: SHA-256 \(actual), expected \(expected)")
                    try? FileManager.default.removeItem(atPath: partial)
                    try await backOff()
                    continue
                }
                if rename(partial, local) != 0 {
                    throw Failure(description: "cannot move the fetched file to \(local): \(String(cString: strerror(errno)))")
                }
                return
            } catch let failure as Failure {
                try? FileManager.default.removeItem(atPath: partial)
                throw failure
            } catch {
                try? FileManager.default.removeItem(atPath: partial)
                lastError = error
                try await backOff()
            }
        }
        throw Failure(description: "fetch of \(remote.joined(separator: "/")) from \(locator) failed after \(attempts) attempts: \(lastError)")
    }

    // MARK: Helpers

    private func addCredentials(to request: inout HTTPClientRequest) {
        guard let credentials else { return }
        request.headers.add(name: "Authorization", value: "Bearer \(credentials.token)")
        request.headers.add(name: "X-Relevo-Job", value: credentials.locator.description)
        request.headers.add(name: ArtifactLocator.attemptHeader, value: String(credentials.attempt))
    }

    static func sha256(of file: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: file) else { throw Failure(description: "cannot read \(file)") }
        defer { try? handle.close() }
        let hasher = SHA256()
        while let data = try handle.read(upToCount: chunkSize), !data.isEmpty {
            data.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalizeHex()
    }

    private static func message(from body: ByteBuffer) -> String? {
        struct Message: Decodable { let message: String }
        return (try? JSONDecoder().decode(Message.self, from: Data(body.readableBytesView)))?.message
            ?? body.getString(at: body.readerIndex, length: min(body.readableBytes, 500))
    }
}

/// A file read in chunks, as an async sequence of buffers (the request body of an upload).
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        var failed = false

        mutating func next() async throws -> ByteBuffer? {
            guard let handle else { throw ArtifactClient.Failure(description: "cannot open the file to upload") }
            guard let data = try handle.read(upToCount: ArtifactClient.chunkSize), !data.isEmpty else {
                try? handle.close()
                return nil
            }
            return ByteBuffer(bytes: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: FileHandle(forReadingAtPath: path))
    }
}
