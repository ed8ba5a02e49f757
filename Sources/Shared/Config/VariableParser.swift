/// Reads `environment_variables` and `secure_variables` (mappings of name to value) of an
/// environment, pipeline, stage or job.
struct VariableParser {
    /// Reads values, substituting parameters where there are any.
    let reader: ConfigValueReader
    /// Where errors go.
    let log: ConfigIssueLog

    /// The mapping keys this parser reads.
    static let keys = ["environment_variables", "secure_variables"]

    /// The variables declared in `mapping`: plain ones first, then secure ones, each in file
    /// order. A name declared twice is an error on the second declaration.
    func parse(_ mapping: ConfigMapping, in place: String) -> [EnvironmentVariable] {
        located(mapping, in: place).map(\.variable)
    }

    /// Like ``parse(_:in:)``, with where each variable's name is written.
    func located(
        _ mapping: ConfigMapping, in place: String
    ) -> [(variable: EnvironmentVariable, location: ConfigLocation)] {
        var variables: [(variable: EnvironmentVariable, location: ConfigLocation)] = []
        var seen: [String: ConfigLocation] = [:]
        for (key, secure) in [("environment_variables", false), ("secure_variables", true)] {
            guard let node = mapping[key] else { continue }
            let what = "'\(key)' in \(place)"
            guard let entries = log.capture({ () throws(ConfigError) in try node.mapping(for: what).entries }) else {
                continue
            }
            for entry in entries {
                guard
                    let variable = log.capture({ () throws(ConfigError) in try variable(entry, secure: secure, in: what)
                    })
                else { continue }
                if let first = seen[variable.name] {
                    log.add(
                        ConfigError(
                            .duplicateName, at: entry.key.location,
                            "variable '\(variable.name)' in \(place) is already declared at \(first)"))
                    continue
                }
                seen[variable.name] = entry.key.location
                variables.append((variable, entry.key.location))
            }
        }
        return variables
    }

    private func variable(
        _ entry: ConfigMapping.Entry, secure: Bool, in what: String
    ) throws(ConfigError) -> EnvironmentVariable {
        let name = entry.name
        guard !name.isEmpty, !name.contains("="), !name.contains(where: \.isWhitespace) else {
            throw ConfigError(
                .invalidName, at: entry.key.location,
                "invalid variable name '\(name)' in \(what): it must be non-empty, without '=' or spaces")
        }
        let value = try entry.value.isNull ? "" : reader.text(entry.value, for: "variable '\(name)' in \(what)")
        return EnvironmentVariable(name: name, value: value, secure: secure)
    }
}
