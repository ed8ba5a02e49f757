import Yams

/// A YAML node and the file it came from; every error about it names its position.
struct ConfigNode {
    /// The parsed node; aliases are already resolved to the anchored node.
    let node: Node
    /// The file's path relative to the config directory.
    let file: String

    /// Where the node starts.
    var location: ConfigLocation {
        let mark = node.mark
        return ConfigLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// An empty value (`key:`), `~` or `null`, unquoted.
    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// Whether the node is a list.
    var isList: Bool {
        if case .sequence = node { true } else { false }
    }

    /// Whether the node is a single value (not a mapping or a list).
    var isScalar: Bool {
        if case .scalar = node { true } else { false }
    }

    /// The node's kind in words, for "expected …, found …" messages.
    var kindDescription: String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar(let scalar): isNull ? "nothing" : "'\(scalar.string)'"
        }
    }

    /// The scalar's text as written, before parameter substitution.
    func scalarText(for what: String) throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else {
            throw ConfigError(.wrongType, at: location, "expected a single value for \(what), found \(kindDescription)")
        }
        return scalar.string
    }

    /// The node as a mapping; an empty value counts as an empty mapping.
    ///
    /// - Parameters:
    ///   - what: the thing the mapping describes, for messages ("pipeline 'build'").
    ///   - anchor: the key that names the thing; missing-key errors point at it.
    func mapping(for what: String, anchor: ConfigNode? = nil) throws(ConfigError) -> ConfigMapping {
        if isNull { return ConfigMapping(node: self, anchor: anchor ?? self, entries: []) }
        guard case .mapping(let mapping) = node else {
            throw ConfigError(.wrongType, at: location, "expected a mapping for \(what), found \(kindDescription)")
        }
        return try ConfigMapping(node: self, mapping: mapping, anchor: anchor ?? self, what: what)
    }

    /// The node as a list; an empty value counts as an empty list.
    ///
    /// - Parameter flattening: splice nested lists into this one, as GoCD does for aliased
    ///   lists of stages or tasks (`- *build_tasks`).
    func list(for what: String, flattening: Bool = false) throws(ConfigError) -> [ConfigNode] {
        if isNull { return [] }
        guard case .sequence(let sequence) = node else {
            throw ConfigError(.wrongType, at: location, "expected a list for \(what), found \(kindDescription)")
        }
        var items: [ConfigNode] = []
        for element in sequence {
            let item = ConfigNode(node: element, file: file)
            if flattening, case .sequence = element {
                items += try item.list(for: what, flattening: true)
            } else {
                items.append(item)
            }
        }
        return items
    }
}
