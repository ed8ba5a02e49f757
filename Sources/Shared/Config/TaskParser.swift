/// Reads a job's `tasks`: a list of single-key mappings, `- exec: {…}` or `- fetch: {…}`.
struct TaskParser {
    /// Reads values with the pipeline's parameters.
    let reader: ConfigValueReader
    /// Where errors and fetch tasks go.
    let context: PipelineContext

    private static let execKeys = ["command", "arguments", "working_directory", "run_if", "on_cancel"]
    private static let fetchKeys = [
        "pipeline", "stage", "job", "source", "destination", "is_file", "run_if", "on_cancel", "artifact_origin",
    ]
    private static let cancelKeys = ["command", "arguments", "working_directory"]
    /// What may stand beside `script:` in its task mapping.
    private static let scriptSiblings = ["run_if", "on_cancel"]
    private static let otherTypes = [
        "ant": "use an exec task that runs ant",
        "nant": "use an exec task that runs nant",
        "rake": "use an exec task that runs rake",
        "plugin": "task plugins do not exist in Relevo; use an exec task",
    ]
    private static let externalFetch =
        "fetching from an external artifact store is not supported; Relevo stores artifacts itself"

    /// The tasks under `key` in `mapping`, in order; nested lists (YAML aliases) are spliced in.
    func parse(
        _ mapping: ConfigMapping, key: String, job: String, at indices: (stage: Int, job: Int)
    ) -> [TaskDefinition] {
        let place = "job '\(job)'"
        guard let node = mapping[key], !node.isNull else {
            context.log.add(
                ConfigError(
                    .missingKey, at: (mapping[key] ?? mapping.anchor).location,
                    "\(place) has no tasks (declare them under 'tasks')"))
            return []
        }
        guard
            let items = context.log.capture({ () throws(ConfigError) in
                try node.list(for: "'tasks' in \(place)", flattening: true)
            })
        else { return [] }
        var tasks: [TaskDefinition] = []
        for (index, item) in items.enumerated() {
            let what = "task \(index + 1) of \(place)"
            guard let task = context.log.capture({ () throws(ConfigError) in try task(item, what: what) }) else {
                continue
            }
            if case .fetch(let fetch) = task {
                context.fetches.append(
                    FetchReference(
                        stageIndex: indices.stage, jobIndex: indices.job, taskIndex: tasks.count, task: fetch,
                        location: item.location))
            }
            tasks.append(task)
        }
        return tasks
    }

    /// The single key of a task mapping, and the mapping of its fields.
    private func typed(
        _ item: ConfigNode, what: String
    ) throws(ConfigError) -> (type: ConfigMapping.Entry, body: ConfigMapping) {
        let mapping = try item.mapping(for: what)
        guard let first = mapping.entries.first else {
            throw ConfigError(
                .wrongType, at: item.location, "expected \(what) as '- exec: {…}' or '- fetch: {…}', found nothing")
        }
        if mapping.entries.count > 1 {
            let extra = mapping.entries[1]
            throw ConfigError(
                .wrongType, at: extra.key.location,
                "\(what) has more than one key ('\(first.name)' and '\(extra.name)'): a task is a mapping with a single "
                    + "key, its type; indent the task's fields under '\(first.name):'")
        }
        let supported = ["exec", "fetch", "fetch_artifact"]
        if !supported.contains(first.name), let advice = Self.otherTypes[first.name] {
            throw ConfigError(
                .notSupported, at: first.key.location,
                "'\(first.name)' tasks are not supported by Relevo (\(what)): \(advice)")
        }
        guard supported.contains(first.name) else {
            throw ConfigError(
                .unknownKey, at: first.key.location,
                "unknown task type '\(first.name)' in \(what) (expected exec, script or fetch)")
        }
        return (first, try first.value.mapping(for: "\(first.name) \(what)", anchor: first.key))
    }

    private func task(_ item: ConfigNode, what: String) throws(ConfigError) -> TaskDefinition {
        if let script = try scriptTask(item, what: what) { return script }
        let (type, body) = try typed(item, what: what)
        let described = "\(type.name) \(what)"
        switch type.name {
        case "exec":
            body.reportUnknownKeys(allowed: Self.execKeys, in: described, log: context.log)
            return .exec(
                ExecTask(
                    command: try reader.requiredString(body, "command", in: described),
                    arguments: try reader.stringList(body, "arguments", in: described),
                    workingDirectory: try reader.relativePath(body, "working_directory", in: described),
                    runIf: try reader.choice(body, "run_if", in: described) ?? .passed,
                    onCancel: try onCancel(body, what: described)))
        case "fetch", "fetch_artifact":
            body.reportUnknownKeys(
                allowed: Self.fetchKeys,
                unsupported: ["artifact_id": Self.externalFetch, "configuration": Self.externalFetch],
                in: described, log: context.log)
            try checkOrigin(body, what: described)
            return .fetch(
                FetchTask(
                    pipeline: try pipelinePath(body, what: described),
                    stage: try reader.requiredName(body, "stage", kind: "stage name", in: described),
                    job: try reader.requiredName(body, "job", kind: "job name", in: described),
                    source: try reader.requiredString(body, "source", in: described),
                    destination: try reader.relativePath(body, "destination", in: described) ?? "",
                    isFile: try reader.bool(body, "is_file", default: false, in: described),
                    runIf: try reader.choice(body, "run_if", in: described) ?? .passed,
                    onCancel: try onCancel(body, what: described)))
        default:
            throw ConfigError(.unknownKey, at: type.key.location, "unknown task type '\(type.name)' in \(what)")
        }
    }

    /// The YAML plugin's `script:` shorthand for GoCD's script executor: the text is a bash script,
    /// run as that plugin runs it (`bash -euo pipefail`: it stops at the first failing command,
    /// an unset variable or a failing pipe). `run_if` and `on_cancel` may stand beside it. Nil if
    /// `item` is not a script task.
    private func scriptTask(_ item: ConfigNode, what: String) throws(ConfigError) -> TaskDefinition? {
        guard let mapping = try? item.mapping(for: what), let entry = mapping.entries.first(where: { $0.name == "script" })
        else { return nil }
        let described = "script \(what)"
        mapping.reportUnknownKeys(allowed: ["script"] + Self.scriptSiblings, in: described, log: context.log)
        guard let text = try reader.string(mapping, "script", in: described), text.contains(where: { !$0.isWhitespace })
        else {
            throw ConfigError(.invalidValue, at: entry.value.location, "\(described) has no script: write the shell commands after 'script:'")
        }
        return .exec(
            ExecTask(
                command: "/bin/bash", arguments: ["-euo", "pipefail", "-c", text],
                runIf: try reader.choice(mapping, "run_if", in: described) ?? .passed,
                onCancel: try onCancel(mapping, what: described)))
    }

    private func checkOrigin(_ body: ConfigMapping, what: String) throws(ConfigError) {
        guard let origin = try reader.string(body, "artifact_origin", in: what), let node = body["artifact_origin"]
        else { return }
        switch origin.lowercased() {
        case "gocd": return
        case "external": throw ConfigError(.notSupported, at: node.location, "\(Self.externalFetch) (\(what))")
        default:
            throw ConfigError(
                .invalidValue, at: node.location, "expected 'gocd' for 'artifact_origin' in \(what), found '\(origin)'")
        }
    }

    /// `pipeline` of a fetch task: empty for this pipeline, else a `/`-separated path of names.
    private func pipelinePath(_ body: ConfigMapping, what: String) throws(ConfigError) -> String? {
        guard let path = try reader.string(body, "pipeline", in: what), let node = body["pipeline"] else { return nil }
        let names = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard names.allSatisfy(ConfigName.isValid) else {
            throw ConfigError(
                .invalidName, at: node.location,
                "'pipeline' in \(what) must be a pipeline name or a path such as 'grandparent/parent', found '\(path)'")
        }
        return names.joined(separator: "/")
    }

    private func onCancel(_ body: ConfigMapping, what: String) throws(ConfigError) -> OnCancelTask? {
        guard let node = body["on_cancel"], !node.isNull else { return nil }
        let described = "'on_cancel' of \(what)"
        let (type, cancel) = try typed(node, what: described)
        guard type.name == "exec" else {
            throw ConfigError(
                .notSupported, at: type.key.location, "\(described) must be an exec task, found '\(type.name)'")
        }
        cancel.reportUnknownKeys(allowed: Self.cancelKeys, in: "exec \(described)", log: context.log)
        return OnCancelTask(
            command: try reader.requiredString(cancel, "command", in: "exec \(described)"),
            arguments: try reader.stringList(cancel, "arguments", in: "exec \(described)"),
            workingDirectory: try reader.relativePath(cancel, "working_directory", in: "exec \(described)"))
    }
}
