import Yams

/// One config file's top-level sections, split out before pipelines are read; the file's own
/// problems (YAML syntax, unknown top-level keys, a bad `format_version`) are logged here.
struct ConfigDocument {
    /// The newest GoCD config-repo format Relevo reads.
    static let newestFormatVersion = 10

    /// The file's path relative to the config directory.
    let file: String
    /// `pipelines`: name → body.
    var pipelines: [ConfigMapping.Entry] = []
    /// `environments`: name → body.
    var environments: [ConfigMapping.Entry] = []
    /// Relevo's `templates`: name → body.
    var templates: [ConfigMapping.Entry] = []

    private static let topLevelKeys = ["format_version", "pipelines", "environments", "common", "templates"]

    /// Parses `file`; on a YAML error the document is empty and the error logged.
    static func parse(_ file: ConfigFile, log: ConfigIssueLog) -> ConfigDocument {
        var document = ConfigDocument(file: file.name)
        let root: Node
        do {
            guard let node = try compose(yaml: file.text) else { return document }
            root = node
        } catch let error as YamlError {
            log.add(syntaxError(error, file: file.name))
            return document
        } catch {
            log.add(
                ConfigError(
                    .yamlSyntax, at: ConfigLocation(file: file.name, line: 1, column: 1), "cannot parse YAML: \(error)")
            )
            return document
        }
        let rootNode = ConfigNode(node: root, file: file.name)
        let what = "the top level of a config file"
        guard let top = log.capture({ () throws(ConfigError) in try rootNode.mapping(for: what) }) else {
            return document
        }
        top.reportUnknownKeys(allowed: topLevelKeys, in: what, log: log)
        let reader = ConfigValueReader(parameters: nil)
        if let version = log.capture({ () throws(ConfigError) in try reader.int(top, "format_version", in: what) }),
            let version, !(1...newestFormatVersion).contains(version), let node = top["format_version"]
        {
            log.add(
                ConfigError(
                    .notSupported, at: node.location,
                    "format_version \(version) is not supported (Relevo reads GoCD's format_version 1 to \(newestFormatVersion))"
                ))
        }
        document.pipelines = entries(of: top, "pipelines", log: log)
        document.environments = entries(of: top, "environments", log: log)
        document.templates = entries(of: top, "templates", log: log)
        return document
    }

    private static func entries(of top: ConfigMapping, _ key: String, log: ConfigIssueLog) -> [ConfigMapping.Entry] {
        guard let entry = top.entry(key) else { return [] }
        return log.capture { () throws(ConfigError) in
            try entry.value.mapping(for: "'\(key)' (a mapping of names to definitions)", anchor: entry.key).entries
        } ?? []
    }

    /// Turns Yams' error into a `ConfigError` at the position the YAML parser reported.
    static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        func at(_ mark: (line: Int, column: Int), _ message: String) -> ConfigError {
            ConfigError(.yamlSyntax, at: ConfigLocation(file: file, line: mark.line, column: mark.column), message)
        }
        func explained(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return "invalid YAML: \(problem)" }
            return
                "invalid YAML: \(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return at((mark.line, mark.column), explained(problem, context))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            let first = (line: context.mark.line, column: context.mark.column)
            let second = duplicates.first.flatMap { repeatedKey($0, after: first, in: context.text) } ?? first
            let earlier = second == first ? "" : " (first at line \(first.line), column \(first.column))"
            return at(second, "invalid YAML: duplicate key \(keys) in one mapping\(earlier); a key may appear once")
        case .reader(let problem, let offset, _, let yaml):
            let mark = offset.map { position(ofCharacterOffset: $0, in: yaml) } ?? (1, 1)
            return at(mark, "cannot read the file as text: \(problem)")
        default:
            return at((1, 1), "invalid YAML: \(error)")
        }
    }

    /// Where a block mapping repeats `key`: the next line that has it at the same column as
    /// the first occurrence. Yams reports only the first; the second is the mistake.
    private static func repeatedKey(
        _ key: String, after first: (line: Int, column: Int), in text: String
    ) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let indent = String(repeating: " ", count: first.column - 1)
        let spellings = [key, "\"\(key)\"", "'\(key)'"].map { indent + $0 }
        for index in first.line..<lines.count {
            let line = lines[index]
            if spellings.contains(where: { line.hasPrefix($0 + ":") || line.hasPrefix($0 + " :") }) {
                return (index + 1, first.column)
            }
        }
        return nil
    }

    private static func position(ofCharacterOffset offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for character in text.prefix(offset) {
            if character == "\n" {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return (line, column)
    }
}
