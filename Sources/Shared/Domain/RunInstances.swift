/// How many copies of a job a stage runs (GoCD's `run_instances`).
///
/// Encoded as a number, or as the string `"all"`.
public enum RunInstances: Sendable, Equatable, Codable, CustomStringConvertible {
    /// This many copies, each with its own `GO_JOB_RUN_INDEX`; `count(1)` is an ordinary job.
    case count(Int)
    /// One copy on every agent that qualifies for the job.
    case all

    /// An ordinary, single job.
    public static let one = RunInstances.count(1)

    /// `"all"` or the count.
    public var description: String {
        switch self {
        case .count(let count): String(count)
        case .all: "all"
        }
    }

    /// Encodes `.all` as `"all"` and a count as a number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .count(let count): try container.encode(count)
        case .all: try container.encode("all")
        }
    }

    /// Decodes a number or the string `"all"`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        do {
            self = .count(try container.decode(Int.self))
            return
        } catch DecodingError.typeMismatch {
            text = try container.decode(String.self)
        }
        guard text == "all" else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a number or \"all\", found \"\(text)\"")
        }
        self = .all
    }
}
