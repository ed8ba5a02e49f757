/// JSON text written directly, for the few messages and rows written for every job, where
/// Foundation's `JSONEncoder` (Codable's containers, a tree, then text) costs more than the rest
/// of the work. The output is the JSON value `JSONEncoder` writes for the same values (tests
/// compare them), so readers are unchanged.
public enum JSONText {
    /// `text` as a JSON string literal, escaped as `JSONEncoder` escapes it (`/` included).
    public static func quoted(_ text: String) -> String {
        var out = "\""
        out.unicodeScalars.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "/": out += "\\/"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }

    /// An array of strings.
    public static func array(_ items: [String]) -> String {
        "[" + items.map(quoted).joined(separator: ",") + "]"
    }
}

extension WorkerEvent {
    /// The event's message body: the JSON `JSONEncoder` writes for it (Codable's synthesized
    /// form; keys here in declaration order): a worker sends two or more per job.
    public var jsonText: String {
        switch self {
        case .accepted(let attempt, let agent):
            #"{"accepted":{"_0":"# + attempt.jsonText + #","agent":"# + agent.jsonText + "}}"
        case .started(let attempt, let agent):
            #"{"started":{"_0":"# + attempt.jsonText + #","agent":"# + agent.jsonText + "}}"
        case .redelivered(let attempt, let agent):
            #"{"redelivered":{"_0":"# + attempt.jsonText + #","agent":"# + agent.jsonText + "}}"
        case .taskStarted(let attempt, let index, let agent):
            #"{"taskStarted":{"_0":"# + attempt.jsonText + #","index":"# + String(index)
                + (agent.map { #","agent":"# + JSONText.quoted($0) } ?? "") + "}}"
        case .console(let attempt, let sequence, let text, let agent):
            #"{"console":{"_0":"# + attempt.jsonText + #","sequence":"# + String(sequence) + #","text":"# + JSONText.quoted(text)
                + (agent.map { #","agent":"# + JSONText.quoted($0) } ?? "") + "}}"
        case .finished(let attempt, let result, let console, let agent):
            #"{"finished":{"_0":"# + attempt.jsonText + #","result":"# + JSONText.quoted(result.rawValue)
                + (console.map { #","console":{"sequence":"# + String($0.sequence) + #","text":"# + JSONText.quoted($0.text) + "}" } ?? "")
                + (agent.map { #","agent":"# + JSONText.quoted($0) } ?? "")
                + "}}"
        case .heartbeat(let agent, let busyJobs, let catalogVersion):
            #"{"heartbeat":{"_0":"# + agent.jsonText + #","busyJobs":"# + JSONText.array(busyJobs.map(\.description)) + #","catalogVersion":"#
                + String(catalogVersion) + "}}"
        }
    }
}

extension JobAttempt {
    var jsonText: String {
        #"{"jobRunID":"# + JSONText.quoted(jobRunID.description) + #","attempt":"# + String(attempt) + "}"
    }
}

extension AgentIdentity {
    var jsonText: String {
        var text = #"{"uuid":"# + JSONText.quoted(uuid) + #","name":"# + JSONText.quoted(name) + #","resources":"#
            + JSONText.array(resources) + #","environments":"# + JSONText.array(environments) + #","slots":"# + String(slots)
        if let appliedResources { text += #","appliedResources":"# + JSONText.array(appliedResources) }
        if let appliedEnvironments { text += #","appliedEnvironments":"# + JSONText.array(appliedEnvironments) }
        return text + "}"
    }
}
