import Yams

/// A YAML mapping with scalar keys, in file order, with YAML merge keys (`<<: *defaults`)
/// applied: keys written in the mapping win over merged ones.
struct ConfigMapping {
    /// One key and its value.
    struct Entry {
        /// The key node; errors about the key point at it.
        let key: ConfigNode
        /// The key's text.
        let name: String
        /// The value node.
        let value: ConfigNode
    }

    /// The mapping node itself.
    let node: ConfigNode
    /// The key that names what the mapping describes; missing-key errors point at it.
    let anchor: ConfigNode
    /// The entries, in file order.
    let entries: [Entry]

    /// A mapping with these entries.
    init(node: ConfigNode, anchor: ConfigNode, entries: [Entry]) {
        self.node = node
        self.anchor = anchor
        self.entries = entries
    }

    /// Reads a YAML mapping; a key that is not a plain value is an error.
    init(node: ConfigNode, mapping: Node.Mapping, anchor: ConfigNode, what: String) throws(ConfigError) {
        var own: [Entry] = []
        var merged: [Entry] = []
        for (keyNode, valueNode) in mapping {
            let key = ConfigNode(node: keyNode, file: node.file)
            let value = ConfigNode(node: valueNode, file: node.file)
            guard case .scalar(let scalar) = keyNode else {
                throw ConfigError(
                    .wrongType, at: key.location, "expected a plain key in \(what), found \(key.kindDescription)")
            }
            if scalar.string == "<<" && scalar.style == .plain {
                merged += try Self.mergedEntries(from: value, what: what)
            } else {
                own.append(Entry(key: key, name: scalar.string, value: value))
            }
        }
        let ownNames = Set(own.map(\.name))
        var seen = ownNames
        var entries = own
        for entry in merged where !seen.contains(entry.name) {
            seen.insert(entry.name)
            entries.append(entry)
        }
        self.init(node: node, anchor: anchor, entries: entries)
    }

    /// The entries a merge key brings: one mapping, or a list of them (earlier ones win).
    private static func mergedEntries(from value: ConfigNode, what: String) throws(ConfigError) -> [Entry] {
        let sources: [ConfigNode]
        if case .sequence = value.node {
            sources = try value.list(for: "the merge key '<<' in \(what)")
        } else {
            sources = [value]
        }
        var entries: [Entry] = []
        for source in sources {
            entries += try source.mapping(for: "the merge key '<<' in \(what)").entries
        }
        return entries
    }

    /// The entry for `key`, if present.
    func entry(_ key: String) -> Entry? {
        entries.first { $0.name == key }
    }

    /// The value for `key`, if present.
    subscript(_ key: String) -> ConfigNode? {
        entry(key)?.value
    }

    /// Whether `key` is present.
    func has(_ key: String) -> Bool {
        entry(key) != nil
    }

    /// Logs an error for every key that is not in `allowed`; keys in `unsupported` get their
    /// own message saying why Relevo does not take them.
    func reportUnknownKeys(
        allowed: [String],
        unsupported: [String: String] = [:],
        in what: String,
        log: ConfigIssueLog
    ) {
        let allowedSet = Set(allowed)
        for entry in entries where !allowedSet.contains(entry.name) {
            if let reason = unsupported[entry.name] {
                log.add(
                    ConfigError(
                        .notSupported, at: entry.key.location,
                        "'\(entry.name)' in \(what) is not supported by Relevo: \(reason)"))
            } else {
                log.add(
                    ConfigError(
                        .unknownKey, at: entry.key.location,
                        "unknown key '\(entry.name)' in \(what) (expected one of: \(allowedSet.sorted().joined(separator: ", ")))"
                    ))
            }
        }
    }
}
