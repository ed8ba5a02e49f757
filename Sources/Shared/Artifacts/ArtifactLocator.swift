/// One job run's artifact root in the store:
/// `<pipeline>/<counter>/<stage>/<stage counter>/<job>`, GoCD's locator. A `run_instances` copy
/// uses GoCD's job name `<job>-runInstance-<index>`.
public struct ArtifactLocator: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public var pipeline: String
    public var pipelineCounter: Int
    public var stage: String
    public var stageCounter: Int
    public var job: String

    public init(pipeline: String, pipelineCounter: Int, stage: String, stageCounter: Int, job: String) {
        self.pipeline = pipeline
        self.pipelineCounter = pipelineCounter
        self.stage = stage
        self.stageCounter = stageCounter
        self.job = job
    }

    /// The artifact job name GoCD gives a job run: the job's name, or `<job>-runInstance-<i>`
    /// for a copy of a job with `run_instances`.
    public static func jobName(_ job: String, runIndex: Int, runCount: Int) -> String {
        runCount > 1 ? "\(job)-runInstance-\(runIndex)" : job
    }

    /// The HTTP header in which a job's artifact requests name the attempt their token belongs to
    /// (beside `Authorization: Bearer <token>` and, for reads, `X-Relevo-Job: <locator>`).
    public static let attemptHeader = "X-Relevo-Attempt"

    /// `pipeline/counter/stage/stageCounter/job`.
    public var description: String {
        "\(pipeline)/\(pipelineCounter)/\(stage)/\(stageCounter)/\(job)"
    }

    /// The folder names, in order, under the artifact root.
    public var components: [String] {
        [pipeline, String(pipelineCounter), stage, String(stageCounter), job]
    }

    /// `<server>/files/<locator>/<path>` with each segment percent-encoded; `server` is the
    /// scheduler's URL ending in `/go`.
    public func fileURL(server: String, path: [String]) -> String {
        let base = server.hasSuffix("/") ? String(server.dropLast()) : server
        return ([base, "files"] + (components + path).map(Self.encode)).joined(separator: "/")
    }

    /// The listing of this job's artifacts: `<server>/files/<locator>.json`.
    public func listingURL(server: String) -> String {
        let base = server.hasSuffix("/") ? String(server.dropLast()) : server
        return ([base, "files"] + components.map(Self.encode)).joined(separator: "/") + ".json"
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    public static func encode(_ segment: String) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            default:
                let digits = Array("0123456789ABCDEF")
                out += "%\(digits[Int(byte >> 4)])\(digits[Int(byte & 0x0f)])"
            }
        }
        return out
    }
}

/// A path inside a job's artifact root, checked: relative, no `.`/`..` segment, no NUL.
public struct ArtifactPath: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The path's segments, none empty.
    public let segments: [String]

    /// Why a path is refused.
    public struct Refusal: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Parses `text` (segments separated by `/`; empty segments are dropped); an empty path is
    /// the root.
    public init(_ text: String) throws(Refusal) {
        if text.hasPrefix("/") { throw Refusal(description: "'\(text)' is an absolute path; artifact paths are relative to the job") }
        if text.contains("\0") || text.contains("\\") {
            throw Refusal(description: "'\(text)' contains a NUL or a backslash")
        }
        let segments = text.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if segments.contains(where: { $0 == ".." }) {
            throw Refusal(description: "'\(text)' leaves the job's directory ('..')")
        }
        self.segments = segments.filter { $0 != "." }
    }

    private init(checked segments: [String]) {
        self.segments = segments
    }

    /// The job's artifact root itself.
    public static let root = ArtifactPath(checked: [])

    public init(segments: [String]) throws(Refusal) {
        try self.init(segments.joined(separator: "/"))
    }

    /// `a/b/c`.
    public var description: String { segments.joined(separator: "/") }

    /// This path followed by `other`.
    public func appending(_ other: ArtifactPath) -> ArtifactPath {
        // Both are checked already; joining cannot introduce `..`.
        ArtifactPath(checked: segments + other.segments)
    }
}
