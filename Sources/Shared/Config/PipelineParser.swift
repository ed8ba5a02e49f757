/// Reads one pipeline: its own keys, its materials, and its stages or its template's stages,
/// with `#{parameters}` substituted everywhere.
struct PipelineParser {
    /// The pipeline's name, already checked.
    let name: String
    /// The key that names the pipeline.
    let nameNode: ConfigNode
    /// The pipeline's body.
    let body: ConfigNode
    /// The templates a pipeline may use.
    let templates: TemplateRegistry

    /// The keys of a pipeline.
    static let keys = [
        "group", "label_template", "lock_behavior", "locking", "display_order", "parameters", "environment_variables",
        "secure_variables", "materials", "stages", "template", "timer", "tracking_tool",
    ]
    /// GoCD pipeline keys that Relevo does not take, and why.
    static let unsupported = [
        "mingle": "Mingle is not supported; use 'tracking_tool' with the card URL and a regex",
    ]

    private var place: String { "pipeline '\(name)'" }

    /// The pipeline, or `nil` when anything in it is wrong; every problem goes to `log`.
    func parse(log: ConfigIssueLog) -> ParsedPipeline? {
        let context = PipelineContext(pipeline: name, log: log)
        guard let mapping = log.capture({ () throws(ConfigError) in try body.mapping(for: place, anchor: nameNode) })
        else {
            return nil
        }
        mapping.reportUnknownKeys(allowed: Self.keys, unsupported: Self.unsupported, in: place, log: log)
        let parameters = self.parameters(mapping, log: log)
        let reader = ConfigValueReader(parameters: ParameterTable(pipeline: name, values: parameters))
        var group: String?
        if let node = mapping["group"], !node.isNull {
            group = log.capture { () throws(ConfigError) in try reader.name(node, kind: "group name", in: place) }
        }
        let labelTemplate =
            log.capture { () throws(ConfigError) in try self.labelTemplate(mapping, reader: reader) } ?? .default
        let lockBehavior =
            log.capture { () throws(ConfigError) in try self.lockBehavior(mapping, reader: reader) }
            ?? LockBehavior.none
        let displayOrder =
            log.capture { () throws(ConfigError) in try reader.int(mapping, "display_order", in: place) } ?? nil
        let timer = log.capture { () throws(ConfigError) in try self.timer(mapping, reader: reader, log: log) } ?? nil
        let trackingTool = log.capture { () throws(ConfigError) in try self.trackingTool(mapping, reader: reader, log: log) } ?? nil
        let variables = VariableParser(reader: reader, log: log).parse(mapping, in: place)
        let (materials, dependencies) = MaterialParser(pipeline: name, reader: reader, log: log).parse(mapping)
        let (stages, template) = self.stages(mapping, parameters: parameters, context: context)
        checkLabel(labelTemplate, materials: materials, mapping: mapping, log: log)
        if let node = mapping["label_template"] {
            for case .variable(let name) in labelTemplate.segments where variables.contains(where: { $0.name == name && $0.secure }) {
                log.add(ConfigError(.invalidValue, at: node.location,
                                    "label template '\(labelTemplate.text)' of \(place) shows the secure variable '\(name)': a label is public"))
            }
        }
        guard log.isEmpty else { return nil }
        let definition = PipelineDefinition(
            name: name,
            group: group ?? PipelineDefinition.defaultGroup,
            labelTemplate: labelTemplate,
            lockBehavior: lockBehavior,
            displayOrder: displayOrder ?? -1,
            parameters: parameters,
            template: template,
            environmentVariables: variables,
            materials: materials,
            stages: stages,
            origin: nameNode.location,
            timer: timer,
            trackingTool: trackingTool)
        return ParsedPipeline(definition: definition, dependencies: dependencies, fetches: context.fetches)
    }

    /// The declared parameters, read as written (a parameter's value is not itself substituted).
    private func parameters(_ mapping: ConfigMapping, log: ConfigIssueLog) -> [String: String] {
        guard let node = mapping["parameters"] else { return [:] }
        let what = "'parameters' in \(place)"
        let plain = ConfigValueReader(parameters: nil)
        var parameters: [String: String] = [:]
        for entry in log.capture({ () throws(ConfigError) in try node.mapping(for: what).entries }) ?? [] {
            _ = log.capture { () throws(ConfigError) in
                let key = try plain.name(entry.key, kind: "parameter name", in: place)
                parameters[key] =
                    try entry.value.isNull ? "" : entry.value.scalarText(for: "parameter '\(key)' in \(place)")
            }
        }
        return parameters
    }

    private func labelTemplate(_ mapping: ConfigMapping, reader: ConfigValueReader) throws(ConfigError) -> LabelTemplate
    {
        guard let text = try reader.string(mapping, "label_template", in: place), let node = mapping["label_template"]
        else {
            return .default
        }
        do {
            return try LabelTemplate(parsing: text)
        } catch {
            throw ConfigError(.invalidValue, at: node.location, "\(error.message) in \(place)")
        }
    }

    /// `timer: {spec: "<Quartz cron>", only_on_changes: <bool>}` (GoCD's keys).
    private func timer(_ mapping: ConfigMapping, reader: ConfigValueReader, log: ConfigIssueLog) throws(ConfigError) -> PipelineTimer? {
        guard let node = mapping["timer"], !node.isNull else { return nil }
        let what = "'timer' of \(place)"
        let timer = try node.mapping(for: what)
        timer.reportUnknownKeys(allowed: ["spec", "only_on_changes"], in: what, log: log)
        let spec = try reader.requiredString(timer, "spec", in: what)
        let schedule: CronSchedule
        do {
            schedule = try CronSchedule(parsing: spec)
        } catch {
            throw ConfigError(.invalidValue, at: (timer["spec"] ?? node).location, "\(error.description) (\(what))")
        }
        return PipelineTimer(schedule: schedule, onlyOnChanges: try reader.bool(timer, "only_on_changes", default: false, in: what))
    }

    /// `tracking_tool: {link: "https://…/${ID}", regex: "#(\\d+)"}` (GoCD's keys).
    private func trackingTool(_ mapping: ConfigMapping, reader: ConfigValueReader, log: ConfigIssueLog) throws(ConfigError) -> TrackingTool? {
        guard let node = mapping["tracking_tool"], !node.isNull else { return nil }
        let what = "'tracking_tool' of \(place)"
        let tool = try node.mapping(for: what)
        tool.reportUnknownKeys(allowed: ["link", "regex"], in: what, log: log)
        let link = try reader.requiredString(tool, "link", in: what)
        let regex = try reader.requiredString(tool, "regex", in: what)
        do {
            return try TrackingTool(link: link, regex: regex)
        } catch {
            throw ConfigError(.invalidValue, at: node.location, "\(error.description) (\(what))")
        }
    }

    private func checkLabel(
        _ label: LabelTemplate, materials: [MaterialDefinition], mapping: ConfigMapping, log: ConfigIssueLog
    ) {
        guard let node = mapping["label_template"] else { return }
        let known = Set(materials.map { $0.name.lowercased() })
        for name in label.materialNames where !known.contains(name.lowercased()) {
            let names = materials.map(\.name).joined(separator: ", ")
            log.add(
                ConfigError(
                    .invalidValue, at: node.location,
                    "label template '\(label.text)' of \(place) refers to '${\(name)}', which is neither COUNT nor one of "
                        + "its materials (\(names.isEmpty ? "none" : names))"))
        }
    }

    private func lockBehavior(_ mapping: ConfigMapping, reader: ConfigValueReader) throws(ConfigError) -> LockBehavior {
        if let locking = mapping.entry("locking") {
            if mapping.has("lock_behavior") {
                throw ConfigError(
                    .conflictingKeys, at: locking.key.location,
                    "\(place) has both 'lock_behavior' and 'locking' (its format_version 1 spelling); keep 'lock_behavior'"
                )
            }
            return try reader.bool(mapping, "locking", default: false, in: place) ? .lockOnFailure : .none
        }
        return try reader.choice(mapping, "lock_behavior", in: place) ?? LockBehavior.none
    }

    /// The pipeline's own stages, or its template's read with its parameters; and the template's name.
    private func stages(
        _ mapping: ConfigMapping, parameters: [String: String], context: PipelineContext
    ) -> (stages: [StageDefinition], template: String?) {
        let log = context.log
        let stagesEntry = mapping.entry("stages")
        let templateEntry = mapping.entry("template")
        switch (stagesEntry, templateEntry) {
        case (.some, .some(let template)):
            log.add(
                ConfigError(
                    .conflictingKeys, at: template.key.location,
                    "\(place) has both 'stages' and 'template'; use one of them"))
            return ([], nil)
        case (.none, .none):
            log.add(ConfigError(.missingKey, at: nameNode.location, "\(place) needs either 'stages' or 'template'"))
            return ([], nil)
        case (.some(let stages), .none):
            let reader = ConfigValueReader(parameters: ParameterTable(pipeline: name, values: parameters))
            let parser = StageParser(pipeline: name, reader: reader, context: context)
            return (parser.parse(stages.value, what: "'stages' in \(place)"), nil)
        case (.none, .some(let entry)):
            guard
                let templateName = log.capture({ () throws(ConfigError) in
                    try ConfigValueReader(parameters: nil).name(entry.value, kind: "template name", in: place)
                })
            else { return ([], nil) }
            guard let template = templates.template(named: templateName) else {
                let known = templates.names.joined(separator: ", ")
                log.add(
                    ConfigError(
                        .unknownTemplate, at: entry.value.location,
                        "unknown template '\(templateName)' in \(place) (templates: \(known.isEmpty ? "none" : known))")
                )
                return ([], nil)
            }
            guard let stagesNode = template.stages else {
                log.add(
                    ConfigError(
                        .unknownTemplate, at: entry.value.location,
                        "template '\(template.name)' used by \(place) did not load (see its errors at \(template.location))"
                    ))
                return ([], nil)
            }
            let table = ParameterTable(pipeline: name, values: parameters, template: template.name)
            let parser = StageParser(pipeline: name, reader: ConfigValueReader(parameters: table), context: context)
            return (
                parser.parse(stagesNode, what: "'stages' in template '\(template.name)' used by \(place)"),
                template.name
            )
        }
    }
}
