/// How a pipeline instance is labelled (GoCD's `label_template`): text with `${COUNT}` for the
/// pipeline counter, `${material}` for a material's revision (a dependency material's: the
/// upstream run's label) and `${material[:n]}` for its first `n` characters (e.g. a short git
/// hash), and `${env:NAME}` for a variable of the pipeline, its environment or its trigger.
///
/// Encoded as its text.
public struct LabelTemplate: Sendable, Equatable, Codable, CustomStringConvertible {
    /// A piece of a label template.
    public enum Segment: Sendable, Equatable {
        /// Text copied as is.
        case literal(String)
        /// `${COUNT}`: the pipeline counter.
        case counter
        /// `${name}` or `${name[:length]}`: a material's revision, or its first `length` characters.
        case material(name: String, length: Int?)
        /// `${env:NAME}`: a variable's value.
        case variable(String)
    }

    /// Why a label template could not be read.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong, and what was expected.
        public var message: String

        /// The message.
        public var description: String { message }
    }

    /// The template as written.
    public let text: String
    /// The template's pieces, in order.
    public let segments: [Segment]

    /// GoCD's default label: the pipeline counter.
    public static let `default` = LabelTemplate(text: "${COUNT}", segments: [.counter])

    private init(text: String, segments: [Segment]) {
        self.text = text
        self.segments = segments
    }

    /// Reads a template; it does not check that the materials it names exist.
    public init(parsing text: String) throws(SyntaxError) {
        var segments: [Segment] = []
        var literal = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            let afterDollar = rest.index(after: dollar)
            guard afterDollar < rest.endIndex, rest[afterDollar] == "{" else {
                literal += rest[...dollar]
                rest = rest[afterDollar...]
                continue
            }
            literal += rest[..<dollar]
            let bodyStart = rest.index(after: afterDollar)
            guard let close = rest[bodyStart...].firstIndex(of: "}") else {
                throw SyntaxError(message: "'${' without a closing '}' in label template '\(text)'")
            }
            if !literal.isEmpty {
                segments.append(.literal(literal))
                literal = ""
            }
            segments.append(try Self.token(String(rest[bodyStart..<close]), in: text))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { segments.append(.literal(literal)) }
        self.init(text: text, segments: segments)
    }

    private static func token(_ body: String, in text: String) throws(SyntaxError) -> Segment {
        if body == "COUNT" { return .counter }
        if body.hasPrefix("env:") {
            let name = String(body.dropFirst(4))
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" }) else {
                throw SyntaxError(message: "'${\(body)}' in label template '\(text)' must name a variable, as '${env:NAME}'")
            }
            return .variable(name)
        }
        var name = Substring(body)
        var length: Int?
        if let bracket = body.firstIndex(of: "[") {
            name = body[..<bracket]
            let suffix = body[bracket...]
            guard suffix.hasPrefix("[:"), suffix.hasSuffix("]"), let count = Int(suffix.dropFirst(2).dropLast()),
                count > 0
            else {
                throw SyntaxError(
                    message: "'${\(body)}' in label template '\(text)' must truncate as '${material[:n]}' "
                        + "with n a positive number")
            }
            length = count
        }
        guard ConfigName.isValid(String(name)) else {
            throw SyntaxError(
                message: "'${\(body)}' in label template '\(text)' is neither '${COUNT}' nor a material name "
                    + "(\(ConfigName.rule))")
        }
        return .material(name: String(name), length: length)
    }

    /// The material names the template refers to, in order of appearance.
    public var materialNames: [String] {
        segments.compactMap { segment in
            if case .material(let name, _) = segment { name } else { nil }
        }
    }

    /// Renders the label of an instance.
    ///
    /// - Parameters:
    ///   - counter: the pipeline counter.
    ///   - revisions: each material's revision (a git commit hash, or the upstream pipeline's
    ///     label for a dependency material), by material name, looked up case-insensitively.
    ///   - variables: the values `${env:NAME}` may take (secure variables are not among them).
    /// - Returns: the label; a reference to a material or variable missing from `revisions` or
    ///   `variables` is left as written, so that the gap shows instead of silently vanishing.
    public func render(counter: Int, revisions: [String: String], variables: [String: String] = [:]) -> String {
        var lowercased: [String: String] = [:]
        for (name, revision) in revisions { lowercased[name.lowercased()] = revision }
        var label = ""
        for segment in segments {
            switch segment {
            case .literal(let text):
                label += text
            case .counter:
                label += String(counter)
            case .variable(let name):
                label += variables[name] ?? "${env:\(name)}"
            case .material(let name, let length):
                guard let revision = lowercased[name.lowercased()] else {
                    label += "${\(name)\(length.map { "[:\($0)]" } ?? "")}"
                    continue
                }
                label += length.map { String(revision.prefix($0)) } ?? revision
            }
        }
        return label
    }

    /// The template as written.
    public var description: String { text }

    /// Encodes the template's text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    /// Decodes and parses a template's text.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }
}
