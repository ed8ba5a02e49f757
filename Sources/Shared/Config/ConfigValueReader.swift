import Foundation

/// Reads typed values out of YAML nodes, substituting parameters when it has them, and names
/// the node and what was expected when a value is wrong.
struct ConfigValueReader {
    /// The pipeline's parameters; `nil` outside pipelines (environments), where `#{` is literal.
    var parameters: ParameterTable?

    private static let trueSpellings: Set<String> = ["true", "yes", "y", "on"]
    private static let falseSpellings: Set<String> = ["false", "no", "n", "off"]

    /// A scalar's text with parameters substituted.
    func text(_ node: ConfigNode, for what: String) throws(ConfigError) -> String {
        let raw = try node.scalarText(for: what)
        guard let parameters else { return raw }
        return try parameters.substitute(raw, at: node)
    }

    /// The string under `key`, or `nil` when the key is absent or empty.
    func string(_ mapping: ConfigMapping, _ key: String, in place: String) throws(ConfigError) -> String? {
        guard let value = mapping[key], !value.isNull else { return nil }
        return try text(value, for: "'\(key)' in \(place)")
    }

    /// The non-empty string under `key`.
    func requiredString(_ mapping: ConfigMapping, _ key: String, in place: String) throws(ConfigError) -> String {
        guard let value = mapping[key] else {
            throw ConfigError(.missingKey, at: mapping.anchor.location, "missing '\(key)' in \(place)")
        }
        let result = try value.isNull ? "" : text(value, for: "'\(key)' in \(place)")
        guard !result.allSatisfy(\.isWhitespace) else {
            throw ConfigError(.invalidValue, at: value.location, "'\(key)' in \(place) must not be empty")
        }
        return result
    }

    /// The boolean under `key`: YAML's and GoCD's spellings (true/false, yes/no, y/n, on/off,
    /// any case), or `defaultValue` when the key is absent or empty.
    func bool(
        _ mapping: ConfigMapping, _ key: String, default defaultValue: Bool, in place: String
    )
        throws(ConfigError) -> Bool
    {
        guard let value = mapping[key], !value.isNull else { return defaultValue }
        let what = "'\(key)' in \(place)"
        let spelled = try text(value, for: what).trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if Self.trueSpellings.contains(spelled) { return true }
        if Self.falseSpellings.contains(spelled) { return false }
        throw ConfigError(
            .invalidValue, at: value.location,
            "expected a boolean (true/false, yes/no, on/off) for \(what), found \(value.kindDescription)")
    }

    /// The whole number under `key` (written as a number or a string), or `nil` when absent or empty.
    func int(_ mapping: ConfigMapping, _ key: String, in place: String) throws(ConfigError) -> Int? {
        guard let value = mapping[key], !value.isNull else { return nil }
        let what = "'\(key)' in \(place)"
        guard let number = Int(try text(value, for: what).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ConfigError(
                .invalidValue, at: value.location, "expected a whole number for \(what), found \(value.kindDescription)"
            )
        }
        return number
    }

    /// One of an enumeration's raw values under `key`, matched case-insensitively, or `nil`
    /// when absent or empty.
    func choice<Choice: RawRepresentable & CaseIterable>(
        _ mapping: ConfigMapping, _ key: String, in place: String, as _: Choice.Type = Choice.self
    ) throws(ConfigError) -> Choice? where Choice.RawValue == String {
        guard let value = mapping[key], !value.isNull else { return nil }
        return try choice(value, for: "'\(key)' in \(place)")
    }

    /// A node holding one of an enumeration's raw values, matched case-insensitively.
    func choice<Choice: RawRepresentable & CaseIterable>(
        _ value: ConfigNode, for what: String
    )
        throws(ConfigError) -> Choice where Choice.RawValue == String
    {
        let spelled = try text(value, for: what).trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if let match = Choice.allCases.first(where: { $0.rawValue.lowercased() == spelled }) { return match }
        let allowed = Choice.allCases.map(\.rawValue).joined(separator: ", ")
        throw ConfigError(
            .invalidValue, at: value.location, "expected one of \(allowed) for \(what), found \(value.kindDescription)")
    }

    /// The list of strings under `key`; empty when absent or empty.
    func stringList(_ mapping: ConfigMapping, _ key: String, in place: String) throws(ConfigError) -> [String] {
        guard let value = mapping[key] else { return [] }
        let what = "'\(key)' in \(place)"
        var strings: [String] = []
        for item in try value.list(for: what, flattening: true) {
            strings.append(try text(item, for: "an item of \(what)"))
        }
        return strings
    }

    /// A name (from a mapping key or a value), checked against GoCD's naming rule.
    ///
    /// - Parameter kind: what the name names, e.g. "stage name".
    func name(_ node: ConfigNode, kind: String, in place: String? = nil) throws(ConfigError) -> String {
        let suffix = place.map { " in \($0)" } ?? ""
        let name = try text(node, for: "a \(kind)\(suffix)")
        guard ConfigName.isValid(name) else {
            throw ConfigError(
                .invalidName, at: node.location, "invalid \(kind) '\(name)'\(suffix): use \(ConfigName.rule)")
        }
        return name
    }
}

/// Required names and safe relative paths.
extension ConfigValueReader {
    /// The name under `key`, required, checked against GoCD's naming rule.
    func requiredName(
        _ mapping: ConfigMapping, _ key: String, kind: String, in place: String
    ) throws(ConfigError) -> String {
        guard let value = mapping[key], !value.isNull else {
            throw ConfigError(
                .missingKey, at: (mapping[key] ?? mapping.anchor).location, "missing '\(key)' in \(place)")
        }
        return try name(value, kind: kind, in: place)
    }

    /// The path under `key`, or `nil` when absent or empty; it must stay inside the directory it
    /// is relative to: not absolute, no `..` component.
    func relativePath(_ mapping: ConfigMapping, _ key: String, in place: String) throws(ConfigError) -> String? {
        guard let path = try string(mapping, key, in: place), let node = mapping[key] else { return nil }
        let components = path.split(separator: "/")
        guard !path.hasPrefix("/"), !path.hasPrefix("~"), !components.contains("..") else {
            throw ConfigError(
                .invalidValue, at: node.location,
                "'\(key)' in \(place) must be a relative path without '..', found '\(path)'")
        }
        return path
    }
}
