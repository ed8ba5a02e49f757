import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Shared

/// The artifact store on GoCD's paths, and the package repositories under `/repos/`.
///
/// - `PUT /go/files/<locator>/<path>`: a worker uploads one file, streamed, with
///   `Authorization: Bearer <the job's artifact token>` and `X-Relevo-SHA256: <hex>`.
/// - `GET /go/files/<locator>/<path>`: the file, streamed, with its `X-Relevo-SHA256`.
/// - `GET /go/files/<locator>.json`: the job's artifacts as GoCD lists them.
/// - `GET /repos/<env>/<path>`: `<data>/repos/`, read-only, for yum/dnf clients.
struct ArtifactRoutes {
    let engine: SchedulerEngine
    let artifacts: ArtifactStore
    let repositories: URL
    let serverURL: String
    let logger: Logger

    static let checksumHeader = HTTPField.Name("X-Relevo-SHA256")!

    func register(on router: Router<RelevoRequestContext>) {
        let files = "/go/files/:name/:counter/:stage/:stageCounter/:job"
        router.put("\(files)/**") { request, context in
            let locator = try Self.locator(context)
            let path = try Self.path(context.parameters.getCatchAll())
            guard let authorization = request.headers[.authorization] else {
                throw APIError(.unauthorized, "an artifact upload needs 'Authorization: Bearer <the job's artifact token>'")
            }
            let token = authorization.hasPrefix("Bearer ") ? String(authorization.dropFirst(7)) : ""
            guard let attempt = request.headers[AuthMiddleware.attemptHeader].flatMap({ Int($0) }) else {
                throw APIError(.badRequest, "an artifact upload needs '\(ArtifactLocator.attemptHeader): <the job's attempt>'")
            }
            guard artifacts.accepts(token: token, for: locator, attempt: attempt) else {
                logger.warning("artifact upload refused: token not valid for this job", metadata: ["locator": "\(locator)", "attempt": "\(attempt)"])
                throw APIError(.forbidden, "the token is not valid for attempt \(attempt) of \(locator)")
            }
            // Only into a job run that exists and has not completed, from its current attempt: a
            // finished job's artifacts are what it published, and stay so, and an attempt the
            // scheduler gave up must not mix its files into its successor's.
            try await Self.checkUploadTarget(locator, attempt: attempt, engine: engine)
            // An abandoned attempt's files do not mix with this one's.
            do {
                try artifacts.claim(locator, forAttempt: attempt)
            } catch {
                throw APIError(.internalServerError, "\(error)")
            }
            guard let expected = request.headers[Self.checksumHeader], expected.count == 64,
                  expected.allSatisfy(\.isHexDigit) else {
                throw APIError(.badRequest, "an artifact upload needs 'X-Relevo-SHA256: <64 hex digits>'")
            }
            do {
                let declared = request.headers[.contentLength].flatMap { Int64($0) }
                let stored = try await artifacts.write(request.body, to: locator, path: path, expectedSHA256: expected, declared: declared)
                logger.info("artifact stored", metadata: ["locator": "\(locator)", "path": "\(path)", "bytes": "\(stored.size)"])
                return APIRoutes.json(UploadJSON(path: path.description, size: stored.size, sha256: stored.sha256), status: .created)
            } catch let failure as ArtifactStore.Failure {
                logger.warning("artifact upload refused", metadata: ["locator": "\(locator)", "path": "\(path)", "reason": "\(failure)"])
                switch failure {
                case .badPath(let reason): throw APIError(.badRequest, reason)
                case .checksumMismatch: throw APIError(.unprocessableContent, failure.description)
                case .conflict(let reason): throw APIError(.conflict, reason)
                case .io(let reason): throw APIError(.internalServerError, reason)
                case .tooLarge(let reason): throw APIError(.contentTooLarge, reason)
                }
            }
        }

        router.get("\(files)/**") { _, context in
            let locator = try Self.locator(context)
            let path = try Self.path(context.parameters.getCatchAll())
            guard let file = try Self.mapped({ () throws(ArtifactStore.Failure) in try artifacts.file(of: locator, path: path) }) else {
                if artifacts.isFolder(locator, path: path) {
                    throw APIError(.notFound, "'\(path)' of \(locator) is a folder; list it at \(locator.listingURL(server: serverURL))")
                }
                throw APIError(.notFound, "no artifact '\(path)' in \(locator)")
            }
            let body = Self.stream(file.url.path, size: file.size)
            var headers = Self.untrustedFileHeaders(download: path.segments.last)
            headers[.contentType] = "application/octet-stream"
            headers[.contentLength] = String(file.size)
            if let sha = file.sha256 { headers[Self.checksumHeader] = sha }
            return Response(status: .ok, headers: headers, body: body)
        }

        // GoCD's listing: `/go/files/<pipeline>/<counter>/<stage>/<stage counter>/<job>.json`.
        router.get(RouterPath(files)) { _, context in
            var locator = try Self.locator(context)
            guard locator.job.hasSuffix(".json") else {
                throw APIError(.notFound, "no route; a job's artifacts are listed at .../\(locator.job).json")
            }
            locator.job = String(locator.job.dropLast(5))
            guard let run = try await engine.queries.pipelineRun(locator.pipeline, counter: locator.pipelineCounter),
                  run.stageRun(named: locator.stage, counter: locator.stageCounter) != nil else {
                throw APIError(.notFound, "no stage \(locator.pipeline)/\(locator.pipelineCounter)/\(locator.stage)/\(locator.stageCounter)")
            }
            var entries = try Self.mapped { () throws(ArtifactStore.Failure) in try artifacts.entries(of: locator) }
                .map { ListingJSON($0, locator: locator, server: serverURL) }
            entries.insert(ListingJSON(name: "cruise-output", url: locator.fileURL(server: serverURL, path: ["cruise-output"]), type: "folder",
                                       files: [ListingJSON(name: "console.log",
                                                           url: locator.fileURL(server: serverURL, path: ["cruise-output", "console.log"]),
                                                           type: "file", files: nil, size: nil, sha256: nil)],
                                       size: nil, sha256: nil), at: 0)
            return APIRoutes.json(entries)
        }

        router.get("/repos/**") { _, context in
            let path = try Self.path(context.parameters.getCatchAll())
            let url = path.segments.reduce(repositories) { $0.appendingPathComponent($1) }
            let real = url.resolvingSymlinksInPath().path
            let base = repositories.resolvingSymlinksInPath().path
            guard real == base || real.hasPrefix(base + "/") else {
                throw APIError(.notFound, "no file '\(path)' in the repositories")
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory) else {
                throw APIError(.notFound, "no file '\(path)' in the repositories")
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: real).sorted()) ?? []
                let lines = names.filter { !$0.hasPrefix(".") }.map { name -> String in
                    var child: ObjCBool = false
                    _ = FileManager.default.fileExists(atPath: real + "/" + name, isDirectory: &child)
                    return child.boolValue ? name + "/" : name
                }
                var headers = Self.untrustedFileHeaders(download: nil)
                headers[.contentType] = "text/plain; charset=utf-8"
                return Response(status: .ok, headers: headers,
                                body: ResponseBody(byteBuffer: ByteBuffer(string: lines.map { $0 + "\n" }.joined())))
            }
            let size = ((try? FileManager.default.attributesOfItem(atPath: real))?[.size] as? NSNumber)?.int64Value ?? 0
            var headers = Self.untrustedFileHeaders(download: nil)
            headers[.contentType] = Self.contentType(of: real)
            return Response(status: .ok, headers: headers, body: Self.stream(real, size: size))
        }
    }

    // MARK: Helpers

    /// A file as a response body, read 256 KiB at a time; each chunk is read only once the
    /// previous one was accepted by the connection, so a slow client costs no memory.
    /// The job run whose artifacts live at `locator`, if there is one.
    static func jobRun(at locator: ArtifactLocator, in queries: any SchedulerQueries) async throws(StoreError) -> JobRun? {
        guard let run = try await queries.pipelineRun(locator.pipeline, counter: locator.pipelineCounter),
              let stage = run.stageRun(named: locator.stage, counter: locator.stageCounter) else { return nil }
        return stage.jobs.first { ArtifactLocator.jobName($0.name, runIndex: $0.runIndex, runCount: $0.runCount) == locator.job }
    }

    /// Refuses an upload to a job run that does not exist (404), has completed (409), or is no
    /// longer at `attempt` (409).
    static func checkUploadTarget(_ locator: ArtifactLocator, attempt: Int, engine: SchedulerEngine) async throws {
        guard let job = try await jobRun(at: locator, in: engine.queries) else {
            throw APIError(.notFound, "no job run \(locator) to upload artifacts to")
        }
        guard job.state != .completed, !job.isCopy else {
            throw APIError(.conflict, "\(locator) has completed (\(job.result.rawValue)); its artifacts can no longer change")
        }
        guard job.attempt == attempt else {
            throw APIError(.conflict, "attempt \(attempt) of \(locator) was given up (the job is at attempt \(job.attempt)); its uploads are refused")
        }
    }

    private static func stream(_ path: String, size: Int64) -> ResponseBody {
        ResponseBody(contentLength: Int(size)) { writer in
            guard let handle = FileHandle(forReadingAtPath: path) else { throw APIError(.notFound, "cannot open \(path)") }
            defer { try? handle.close() }
            while let data = try handle.read(upToCount: 256 * 1024), !data.isEmpty {
                try await writer.write(ByteBuffer(bytes: data))
            }
            try await writer.finish(nil)
        }
    }

    private static func locator(_ context: RelevoRequestContext) throws -> ArtifactLocator {
        ArtifactLocator(pipeline: try context.parameters.require("name"),
                        pipelineCounter: try APIRoutes.positive(context.parameters.require("counter"), "counter"),
                        stage: try context.parameters.require("stage"),
                        stageCounter: try APIRoutes.positive(context.parameters.require("stageCounter"), "stage counter"),
                        job: try context.parameters.require("job"))
    }

    private static func path(_ segments: [Substring]) throws -> ArtifactPath {
        let decoded = segments.map { String($0).removingPercentEncoding ?? String($0) }
        do {
            return try ArtifactPath(segments: decoded)
        } catch {
            throw APIError(.badRequest, error.description)
        }
    }

    /// Runs a store call, turning its failure into a 400/404.
    private static func mapped<T>(_ body: () throws(ArtifactStore.Failure) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw APIError(.badRequest, error.description)
        }
    }

    /// Headers for a file a job wrote, served on the dashboard's origin: the browser must not
    /// guess its type (`nosniff`) nor run anything in it with the signed-in user's cookie (a
    /// sandbox without scripts or same-origin rights); an artifact downloads as `name` rather
    /// than being shown. (`yum` and `dnf` ignore all three.)
    static func untrustedFileHeaders(download name: String?) -> HTTPFields {
        var headers = HTTPFields()
        headers[Self.contentTypeOptions] = "nosniff"
        headers[Self.contentSecurityPolicy] = "sandbox; default-src 'none'"
        if let name {
            let safe = name.unicodeScalars.filter { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" }
            headers[.contentDisposition] = "attachment; filename=\"\(String(String.UnicodeScalarView(safe)))\""
        }
        return headers
    }

    static let contentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!

    private static func contentType(of path: String) -> String {
        switch (path as NSString).pathExtension {
        case "xml": "application/xml"
        case "gz": "application/gzip"
        case "rpm": "application/x-rpm"
        case "json": "application/json"
        case "txt": "text/plain; charset=utf-8"
        default: "application/octet-stream"
        }
    }
}

struct UploadJSON: Encodable {
    let path: String
    let size: Int64
    let sha256: String
}

/// One entry of GoCD's artifact listing, with Relevo's `size` and `sha256` on files.
struct ListingJSON: Encodable {
    let name: String
    let url: String
    let type: String
    let files: [ListingJSON]?
    let size: Int64?
    let sha256: String?

    init(name: String, url: String, type: String, files: [ListingJSON]?, size: Int64?, sha256: String?) {
        self.name = name
        self.url = url
        self.type = type
        self.files = files
        self.size = size
        self.sha256 = sha256
    }

    init(_ entry: ArtifactStore.Entry, locator: ArtifactLocator, server: String) {
        name = entry.name
        url = locator.fileURL(server: server, path: entry.path.segments)
        type = entry.isFolder ? "folder" : "file"
        files = entry.isFolder ? entry.children.map { ListingJSON($0, locator: locator, server: server) } : nil
        size = entry.isFolder ? nil : entry.size
        sha256 = entry.sha256
    }
}
