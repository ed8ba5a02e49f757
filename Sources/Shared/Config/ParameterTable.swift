/// A pipeline's `parameters`, substituted into every string of the pipeline and of its template:
/// `#{name}` becomes the value and `##{` is a literal `#{`.
struct ParameterTable {
    /// The pipeline the parameters belong to.
    let pipeline: String
    /// The parameters by name.
    let values: [String: String]
    /// The template whose strings are being read, if any, for messages.
    var template: String?

    /// `text` with every `#{name}` replaced.
    ///
    /// - Throws: `unknownParameter` for a name the pipeline does not declare, `invalidValue`
    ///   for a `#{` without a closing `}`; both at `node`.
    func substitute(_ text: String, at node: ConfigNode) throws(ConfigError) -> String {
        guard text.contains("#{") else { return text }
        var result = ""
        var rest = Substring(text)
        while let hash = rest.firstIndex(of: "#") {
            result += rest[..<hash]
            let afterHash = rest[rest.index(after: hash)...]
            if afterHash.hasPrefix("#{") {
                result += "#{"
                rest = afterHash.dropFirst(2)
                continue
            }
            guard afterHash.hasPrefix("{") else {
                result += "#"
                rest = afterHash
                continue
            }
            let nameStart = afterHash.index(after: afterHash.startIndex)
            guard let close = afterHash[nameStart...].firstIndex(of: "}") else {
                throw ConfigError(
                    .invalidValue, at: node.location,
                    "'#{' without a closing '}' in '\(text)' \(place) (write '##{' for a literal '#{')")
            }
            let name = String(afterHash[nameStart..<close])
            guard let value = values[name] else {
                throw ConfigError(
                    .unknownParameter, at: node.location, "unknown parameter '#{\(name)}' \(place) (\(declared))")
            }
            result += value
            rest = afterHash[afterHash.index(after: close)...]
        }
        result += rest
        return result
    }

    private var place: String {
        if let template { return "in template '\(template)' used by pipeline '\(pipeline)'" }
        return "in pipeline '\(pipeline)'"
    }

    private var declared: String {
        if values.isEmpty { return "the pipeline declares no parameters" }
        return "declared parameters: " + values.keys.sorted().joined(separator: ", ")
    }
}
