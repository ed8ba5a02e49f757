/// One step of a job; the tasks of a job run in order on one agent.
///
/// Encoded as the task's own fields plus `"type": "exec"` or `"type": "fetch"`.
public enum TaskDefinition: Sendable, Equatable, Codable {
    /// Runs a program.
    case exec(ExecTask)
    /// Downloads an artifact.
    case fetch(FetchTask)

    /// When the task runs, given how the earlier tasks went.
    public var runIf: RunIf {
        switch self {
        case .exec(let task): task.runIf
        case .fetch(let task): task.runIf
        }
    }

    /// What to run if the task is cancelled while running.
    public var onCancel: OnCancelTask? {
        switch self {
        case .exec(let task): task.onCancel
        case .fetch(let task): task.onCancel
        }
    }

    private enum TypeKey: String, CodingKey {
        case type
    }

    private enum Kind: String, Codable {
        case exec, fetch
    }

    /// Encodes the task's fields and its `type`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: TypeKey.self)
        switch self {
        case .exec(let task):
            try container.encode(Kind.exec, forKey: .type)
            try task.encode(to: encoder)
        case .fetch(let task):
            try container.encode(Kind.fetch, forKey: .type)
            try task.encode(to: encoder)
        }
    }

    /// Decodes a task by its `type`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: TypeKey.self)
        switch try container.decode(Kind.self, forKey: .type) {
        case .exec: self = .exec(try ExecTask(from: decoder))
        case .fetch: self = .fetch(try FetchTask(from: decoder))
        }
    }
}
