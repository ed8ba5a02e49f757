/// Relevo's `templates` from every file: stages that pipelines take with `template: NAME`.
/// A template's stages are read once per pipeline that uses it, with that pipeline's parameters.
struct TemplateRegistry {
    /// One template.
    struct Template {
        /// The name as declared.
        let name: String
        /// The `stages` list, or `nil` if the template itself is malformed (its errors are logged).
        let stages: ConfigNode?
        /// Where the name is written.
        let location: ConfigLocation
    }

    private var templates: [String: Template] = [:]

    /// The declared template names, sorted.
    var names: [String] { templates.values.map(\.name).sorted() }

    /// The template with this name, compared case-insensitively as GoCD does.
    func template(named name: String) -> Template? {
        templates[name.lowercased()]
    }

    /// Collects the templates of all documents, in order; a second template with a taken name
    /// is an error and ignored.
    static func build(_ documents: [ConfigDocument], log: ConfigIssueLog) -> TemplateRegistry {
        var registry = TemplateRegistry()
        let names = ConfigValueReader(parameters: nil)
        for document in documents {
            for entry in document.templates {
                guard
                    let name = log.capture({ () throws(ConfigError) in try names.name(entry.key, kind: "template name")
                    })
                else {
                    continue
                }
                if let first = registry.templates[name.lowercased()] {
                    log.add(
                        ConfigError(
                            .duplicateName, at: entry.key.location,
                            "template '\(name)' is already defined at \(first.location); this definition is ignored"))
                    continue
                }
                let stages = log.capture { () throws(ConfigError) in try stagesNode(of: entry, name: name, log: log) }
                registry.templates[name.lowercased()] = Template(
                    name: name, stages: stages, location: entry.key.location)
            }
        }
        return registry
    }

    private static func stagesNode(
        of entry: ConfigMapping.Entry, name: String, log: ConfigIssueLog
    ) throws(ConfigError) -> ConfigNode {
        let what = "template '\(name)'"
        let body = try entry.value.mapping(for: what, anchor: entry.key)
        body.reportUnknownKeys(allowed: ["stages"], in: what, log: log)
        guard let stages = body["stages"], !stages.isNull else {
            throw ConfigError(.missingKey, at: (body["stages"] ?? body.anchor).location, "missing 'stages' in \(what)")
        }
        _ = try stages.list(for: "'stages' in \(what)")
        return stages
    }
}
