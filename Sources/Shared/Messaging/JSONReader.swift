/// A small strict JSON reader for the messages read for every job: worker events (the
/// scheduler) and job messages (the worker). Foundation's `JSONDecoder` spent more time in
/// Codable's containers than in the JSON. It reads what `JSONDecoder` reads for these values and
/// gives up (nil) on anything else — fractions, exponents, duplicate keys, unknown event kinds —
/// so the caller falls back to `JSONDecoder`, which then decides and names the problem.
enum JSONValue: Equatable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case integer(Int)
    case bool(Bool)
    case null

    /// The value of a whole JSON text, or nil if it is not one this reader takes.
    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        var reader = Reader(bytes: bytes)
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipSpace()
        return reader.index == bytes.count ? value : nil
    }

    var object: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }
    var string: String? { if case .string(let value) = self { value } else { nil } }
    var integer: Int? { if case .integer(let value) = self { value } else { nil } }
    var strings: [String]? {
        guard case .array(let items) = self else { return nil }
        var strings: [String] = []
        strings.reserveCapacity(items.count)
        for item in items {
            guard let string = item.string else { return nil }
            strings.append(string)
        }
        return strings
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func value(depth: Int) -> JSONValue? {
            guard depth < 32 else { return nil }
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string().map(JSONValue.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return integer()
            }
        }

        private mutating func literal(_ text: StaticString, _ value: JSONValue) -> JSONValue? {
            let count = text.utf8CodeUnitCount
            guard index + count <= bytes.count else { return nil }
            for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return nil }
            index += count
            return value
        }

        private mutating func object(depth: Int) -> JSONValue? {
            index += 1
            var members: [String: JSONValue] = [:]
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                guard let value = value(depth: depth + 1), members.updateValue(value, forKey: key) == nil else { return nil }
                skipSpace()
                guard index < bytes.count else { return nil }
                index += 1
                switch bytes[index - 1] {
                case UInt8(ascii: ","): continue
                case UInt8(ascii: "}"): return .object(members)
                default: return nil
                }
            }
        }

        private mutating func array(depth: Int) -> JSONValue? {
            index += 1
            var items: [JSONValue] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                guard let item = value(depth: depth + 1) else { return nil }
                items.append(item)
                skipSpace()
                guard index < bytes.count else { return nil }
                index += 1
                switch bytes[index - 1] {
                case UInt8(ascii: ","): continue
                case UInt8(ascii: "]"): return .array(items)
                default: return nil
                }
            }
        }

        /// An integer without fraction or exponent that fits an `Int`.
        private mutating func integer() -> JSONValue? {
            let negative = bytes[index] == UInt8(ascii: "-")
            if negative { index += 1 }
            let start = index
            var value = 0
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                let digit = Int(bytes[index] - UInt8(ascii: "0"))
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
                guard !overflow1, !overflow2 else { return nil }
                value = sum
                index += 1
            }
            let digits = index - start
            guard digits > 0, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
            if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) { return nil }
            return .integer(value)
        }

        /// A string literal (the reader is on its opening quote).
        private mutating func string() -> String? {
            index += 1
            var utf8: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(validating: utf8, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var scalar = hex4() else { return nil }
                        if (0xD800...0xDBFF).contains(scalar) {
                            // A surrogate pair: the low half must follow as another \u escape.
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { return nil }
                            index += 2
                            guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { return nil }
                        utf8.append(contentsOf: String(Character(unicode)).utf8)
                    default:
                        return nil
                    }
                case 0x00..<0x20:
                    return nil
                default:
                    utf8.append(byte)
                }
            }
            return nil
        }

        private mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                index += 1
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
    }
}

extension WorkerEvent {
    /// The event in `body`, read by ``JSONValue``; nil if that reader does not take it (the caller
    /// then uses `JSONDecoder`). Values are taken as they are, as Codable's synthesized decoding
    /// takes them (no normalisation).
    public init?(directJSON body: [UInt8]) {
        guard let top = JSONValue.parse(body)?.object, top.count == 1, let (kind, value) = top.first,
              let fields = value.object else { return nil }
        switch kind {
        case "accepted", "started", "redelivered":
            guard let attempt = fields["_0"].flatMap(JobAttempt.init(json:)),
                  let agent = fields["agent"].flatMap(AgentIdentity.init(json:)) else { return nil }
            switch kind {
            case "accepted": self = .accepted(attempt, agent: agent)
            case "started": self = .started(attempt, agent: agent)
            default: self = .redelivered(attempt, agent: agent)
            }
        case "taskStarted":
            guard let attempt = fields["_0"].flatMap(JobAttempt.init(json:)), let index = fields["index"]?.integer else { return nil }
            self = .taskStarted(attempt, index: index, agent: fields["agent"]?.string)
        case "console":
            guard let attempt = fields["_0"].flatMap(JobAttempt.init(json:)), let sequence = fields["sequence"]?.integer,
                  let text = fields["text"]?.string else { return nil }
            self = .console(attempt, sequence: sequence, text: text, agent: fields["agent"]?.string)
        case "finished":
            guard let attempt = fields["_0"].flatMap(JobAttempt.init(json:)),
                  let result = fields["result"]?.string.flatMap(JobResult.init(rawValue:)) else { return nil }
            var console: ConsoleChunk?
            switch fields["console"] {
            case nil, .null?: console = nil
            case let chunk?:
                guard let chunk = chunk.object, let sequence = chunk["sequence"]?.integer, let text = chunk["text"]?.string else { return nil }
                console = ConsoleChunk(sequence: sequence, text: text)
            }
            guard let agent = JSONValue.optional(fields["agent"], \.string) else { return nil }
            self = .finished(attempt, result: result, console: console, agent: agent)
        case "heartbeat":
            guard let agent = fields["_0"].flatMap(AgentIdentity.init(json:)), let busyJobs = fields["busyJobs"]?.map(JobRunID.init(json:)),
                  let catalogVersion = fields["catalogVersion"]?.integer else { return nil }
            self = .heartbeat(agent, busyJobs: busyJobs, catalogVersion: catalogVersion)
        default:
            return nil
        }
    }
}

extension JobAttempt {
    init?(json: JSONValue) {
        guard let fields = json.object, let jobRunID = fields["jobRunID"].flatMap(JobRunID.init(json:)),
              let attempt = fields["attempt"]?.integer else { return nil }
        self.init(jobRunID: jobRunID, attempt: attempt)
    }
}

extension JobRunID {
    /// A job run id in its text form; nil for anything else (`JSONDecoder` then names the fault).
    init?(json: JSONValue) {
        guard let text = json.string else { return nil }
        self.init(parsing: text)
    }
}

extension AgentIdentity {
    init?(json: JSONValue) {
        guard let fields = json.object, let uuid = fields["uuid"]?.string, let name = fields["name"]?.string,
              let resources = fields["resources"]?.strings, let environments = fields["environments"]?.strings,
              let slots = fields["slots"]?.integer else { return nil }
        self.init(uuid: uuid, name: name, resources: [], environments: [], slots: slots)
        // As sent, like Codable's decoding (the initialiser would normalise them).
        self.resources = resources
        self.environments = environments
        guard let applied = Self.optionalStrings(fields["appliedResources"]),
              let appliedEnvironments = Self.optionalStrings(fields["appliedEnvironments"]) else { return nil }
        appliedResources = applied
        self.appliedEnvironments = appliedEnvironments
    }

    /// Absent or null: `.some(nil)`; an array of strings: `.some(array)`; anything else: nil.
    private static func optionalStrings(_ value: JSONValue?) -> [String]?? {
        switch value {
        case nil, .null?: return .some(nil)
        case let value?: return value.strings.map { .some($0) }
        }
    }
}

extension JobMessage {
    /// The job in `body`, read by ``JSONValue`` (a worker reads one per job); nil if that reader
    /// does not take it — a `fetch` task or an `on_cancel` task, for one — and the caller then
    /// uses `JSONDecoder`. Fields are read as Codable reads them: every key required but the
    /// optional ones.
    public init?(directJSON body: [UInt8]) {
        guard let fields = JSONValue.parse(body)?.object,
              let version = fields["version"]?.integer, let jobRunID = fields["jobRunID"].flatMap(JobRunID.init(json:)),
              let attempt = fields["attempt"]?.integer,
              let pipelineLabel = fields["pipelineLabel"]?.string, let runCount = fields["runCount"]?.integer,
              let environment = JSONValue.optional(fields["environment"], \.string),
              let resources = fields["resources"]?.strings,
              let materials = fields["materials"]?.map(MaterialCheckout.init(json:)),
              case .bool(let cleanWorkspace)? = fields["cleanWorkspace"], case .bool(let fetchMaterials)? = fields["fetchMaterials"],
              let tasks = fields["tasks"]?.map(TaskDefinition.init(directJSON:)),
              let variables = fields["environmentVariables"]?.map(EnvironmentVariable.init(json:)),
              let artifacts = fields["artifacts"]?.map(ArtifactDefinition.init(json:)),
              let inactivityTimeoutSeconds = JSONValue.optional(fields["inactivityTimeoutSeconds"], \.integer),
              let serverURL = fields["serverURL"]?.string, let artifactToken = fields["artifactToken"]?.string
        else { return nil }
        self.init(jobRunID: jobRunID, attempt: attempt, pipelineLabel: pipelineLabel, runCount: runCount,
                  environment: environment, resources: resources, materials: materials, cleanWorkspace: cleanWorkspace,
                  fetchMaterials: fetchMaterials, tasks: tasks, environmentVariables: variables, artifacts: artifacts,
                  inactivityTimeoutSeconds: inactivityTimeoutSeconds, serverURL: serverURL, artifactToken: artifactToken)
        self.version = version
    }
}

extension JSONValue {
    /// Each item of an array mapped by `transform`; nil if this is not an array or an item fails.
    func map<T>(_ transform: (JSONValue) -> T?) -> [T]? {
        guard case .array(let items) = self else { return nil }
        var mapped: [T] = []
        mapped.reserveCapacity(items.count)
        for item in items {
            guard let value = transform(item) else { return nil }
            mapped.append(value)
        }
        return mapped
    }

    /// An optional field as Codable reads it: absent or null is `.some(nil)`; a value of the
    /// wrong kind is nil.
    static func optional<T>(_ value: JSONValue?, _ read: (JSONValue) -> T?) -> T?? {
        switch value {
        case nil, .null?: return .some(nil)
        case let value?: return read(value).map { .some($0) }
        }
    }

    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
}

extension MaterialCheckout {
    init?(json: JSONValue) {
        guard let fields = json.object, let name = fields["name"]?.string, let url = fields["url"]?.string,
              let branch = fields["branch"]?.string, let revision = fields["revision"]?.string,
              let destination = fields["destination"]?.string, let shallowClone = fields["shallowClone"]?.bool else { return nil }
        self.init(name: name, url: url, branch: branch, revision: revision, destination: destination, shallowClone: shallowClone,
                  previousRevision: fields["previousRevision"]?.string)
    }
}

extension TaskDefinition {
    /// An `exec` task without an `on_cancel` task; nil for anything else.
    init?(directJSON json: JSONValue) {
        guard let fields = json.object, fields["type"]?.string == "exec",
              let command = fields["command"]?.string, let arguments = fields["arguments"]?.strings,
              let workingDirectory = JSONValue.optional(fields["workingDirectory"], \.string),
              let runIf = fields["runIf"]?.string.flatMap(RunIf.init(rawValue:)),
              fields["onCancel"] == nil || fields["onCancel"] == .null else { return nil }
        self = .exec(ExecTask(command: command, arguments: arguments, workingDirectory: workingDirectory, runIf: runIf))
    }
}

extension EnvironmentVariable {
    init?(json: JSONValue) {
        guard let fields = json.object, let name = fields["name"]?.string, let value = fields["value"]?.string,
              let secure = JSONValue.optional(fields["secure"], \.bool) else { return nil }
        self.init(name: name, value: value, secure: secure ?? false)
    }
}

extension ArtifactDefinition {
    init?(json: JSONValue) {
        guard let fields = json.object, let type = fields["type"]?.string.flatMap(ArtifactType.init(rawValue:)),
              let source = fields["source"]?.string, let destination = fields["destination"]?.string else { return nil }
        self.init(type: type, source: source, destination: destination)
    }
}
