/// Reads a list of stages, `- name: {…}`, of a pipeline or of the template it uses.
struct StageParser {
    /// The pipeline being read.
    let pipeline: String
    /// Reads values with the pipeline's parameters.
    let reader: ConfigValueReader
    /// Where errors and fetch tasks go.
    let context: PipelineContext

    /// The keys of a stage.
    static let keys = [
        "approval", "fetch_materials", "clean_workspace", "keep_artifacts", "environment_variables", "secure_variables",
        "jobs",
    ]
    private static let approvalKeys = ["type", "allow_only_on_success", "users", "roles"]

    /// The stages in `node`, in order; nested lists (YAML aliases) are spliced in.
    ///
    /// - Parameter what: the list in words, e.g. "'stages' in pipeline 'build'".
    func parse(_ node: ConfigNode, what: String) -> [StageDefinition] {
        guard let items = context.log.capture({ () throws(ConfigError) in try node.list(for: what, flattening: true) })
        else {
            return []
        }
        var stages: [StageDefinition] = []
        var names: [String: ConfigLocation] = [:]
        for (index, item) in items.enumerated() {
            guard
                let (stage, location) = context.log.capture({ () throws(ConfigError) in
                    try self.stage(item, index: index, what: "stage \(index + 1) of \(what)")
                })
            else { continue }
            if let first = names[stage.name.lowercased()] {
                context.log.add(
                    ConfigError(
                        .duplicateName, at: location,
                        "stage name '\(stage.name)' is used twice in pipeline '\(pipeline)' (first at \(first))"))
                continue
            }
            names[stage.name.lowercased()] = location
            stages.append(stage)
        }
        if items.isEmpty {
            context.log.add(
                ConfigError(.missingKey, at: node.location, "\(what) is empty: a pipeline needs at least one stage"))
        }
        return stages
    }

    private func stage(
        _ item: ConfigNode, index: Int, what: String
    ) throws(ConfigError) -> (StageDefinition, ConfigLocation) {
        let outer = try item.mapping(for: what)
        guard outer.entries.count == 1, let named = outer.entries.first else {
            let at = outer.entries.count > 1 ? outer.entries[1].key.location : item.location
            throw ConfigError(
                .wrongType, at: at,
                "expected \(what) as '- name: {…}' (a mapping with a single key, the stage's name); "
                    + "indent the stage's fields under its name")
        }
        let name = try reader.name(named.key, kind: "stage name", in: "pipeline '\(pipeline)'")
        let locator = "\(pipeline)/\(name)"
        let fromTemplate = reader.parameters?.template.map { " (from template '\($0)')" } ?? ""
        let place = "stage '\(locator)'\(fromTemplate)"
        let body = try named.value.mapping(for: place, anchor: named.key)
        let jobs = try self.jobs(body, stage: name, index: index, place: place)
        return (
            StageDefinition(
                name: name,
                approval: try approval(body, in: place),
                fetchMaterials: try reader.bool(body, "fetch_materials", default: true, in: place),
                cleanWorkspace: try reader.bool(body, "clean_workspace", default: false, in: place),
                keepArtifacts: try reader.bool(body, "keep_artifacts", default: false, in: place),
                environmentVariables: VariableParser(reader: reader, log: context.log).parse(body, in: place),
                jobs: jobs), named.key.location
        )
    }

    private func jobs(
        _ body: ConfigMapping, stage: String, index: Int, place: String
    ) throws(ConfigError) -> [JobDefinition] {
        let jobParser = JobParser(reader: reader, context: context)
        if let tasks = body.entry("tasks"), body.has("jobs") {
            throw ConfigError(
                .conflictingKeys, at: tasks.key.location,
                "\(place) has both 'jobs' and 'tasks': use 'tasks' only for a single-job stage, without 'jobs'")
        }
        if body.has("tasks") {
            body.reportUnknownKeys(
                allowed: Self.keys.filter { $0 != "jobs" } + JobParser.keys, unsupported: JobParser.unsupported,
                in: place, log: context.log)
            let job = try jobParser.parse(
                name: stage, mapping: body, locator: "\(pipeline)/\(stage)/\(stage)", indices: (index, 0),
                shorthand: true)
            return [job]
        }
        body.reportUnknownKeys(allowed: Self.keys, in: place, log: context.log)
        guard let jobsNode = body["jobs"], !jobsNode.isNull else {
            throw ConfigError(
                .missingKey, at: (body["jobs"] ?? body.anchor).location,
                "\(place) has no jobs (declare 'jobs', or 'tasks' for a single-job stage)")
        }
        let entries = try jobsNode.mapping(for: "'jobs' in \(place)").entries
        if entries.isEmpty {
            throw ConfigError(.missingKey, at: jobsNode.location, "'jobs' in \(place) is empty: a stage needs a job")
        }
        var jobs: [JobDefinition] = []
        var names: [String: ConfigLocation] = [:]
        for entry in entries {
            guard
                let job = context.log.capture({ () throws(ConfigError) in
                    let name = try reader.name(entry.key, kind: "job name", in: place)
                    if let first = names[name.lowercased()] {
                        throw ConfigError(
                            .duplicateName, at: entry.key.location,
                            "job name '\(name)' is used twice in \(place) (first at \(first))")
                    }
                    names[name.lowercased()] = entry.key.location
                    let mapping = try entry.value.mapping(for: "job '\(pipeline)/\(stage)/\(name)'", anchor: entry.key)
                    return try jobParser.parse(
                        name: name, mapping: mapping, locator: "\(pipeline)/\(stage)/\(name)",
                        indices: (index, jobs.count),
                        shorthand: false)
                })
            else { continue }
            jobs.append(job)
        }
        return jobs
    }

    private func approval(_ body: ConfigMapping, in place: String) throws(ConfigError) -> ApprovalDefinition {
        guard let node = body["approval"], !node.isNull else { return .success }
        let what = "'approval' in \(place)"
        if node.isScalar {
            let type: ApprovalDefinition.ApprovalType = try reader.choice(node, for: what)
            return ApprovalDefinition(type: type)
        }
        let mapping = try node.mapping(for: what, anchor: body.entry("approval")?.key)
        mapping.reportUnknownKeys(allowed: Self.approvalKeys, in: what, log: context.log)
        guard let typeNode = mapping["type"], !typeNode.isNull else {
            throw ConfigError(
                .missingKey, at: (mapping["type"] ?? mapping.anchor).location,
                "missing 'type' (manual or success) in \(what)")
        }
        return ApprovalDefinition(
            type: try reader.choice(typeNode, for: "'type' in \(what)"),
            allowOnlyOnSuccess: try reader.bool(mapping, "allow_only_on_success", default: false, in: what),
            users: try reader.stringList(mapping, "users", in: what),
            roles: try reader.stringList(mapping, "roles", in: what))
    }
}
