import Foundation

/// Reads one job: its resources, instances, timeout, variables, artifacts, `serial` key and tasks.
struct JobParser {
    /// Reads values with the pipeline's parameters.
    let reader: ConfigValueReader
    /// Where errors and fetch tasks go.
    let context: PipelineContext

    /// The keys of a job.
    static let keys = [
        "resources", "run_instances", "timeout", "environment_variables", "secure_variables", "artifacts", "tabs",
        "serial", "tasks",
    ]
    /// GoCD job keys that Relevo does not take, and why.
    static let unsupported = [
        "elastic_profile_id": "elastic agents do not exist in Relevo; choose agents with 'resources'",
        "properties": "job properties were removed from GoCD in format_version 7",
    ]

    /// Reads a job.
    ///
    /// - Parameters:
    ///   - locator: `pipeline/stage/job`, for messages.
    ///   - shorthand: the job's keys sit in a single-job stage's body: the stage parser checks
    ///     the keys and takes the variables.
    func parse(
        name: String, mapping: ConfigMapping, locator: String, indices: (stage: Int, job: Int), shorthand: Bool
    ) throws(ConfigError) -> JobDefinition {
        let place = "job '\(locator)'"
        if !shorthand {
            mapping.reportUnknownKeys(allowed: Self.keys, unsupported: Self.unsupported, in: place, log: context.log)
        }
        let variables = shorthand ? [] : VariableParser(reader: reader, log: context.log).parse(mapping, in: place)
        let resources = context.log.capture { () throws(ConfigError) in try self.resources(mapping, in: place) } ?? []
        let artifacts = context.log.capture { () throws(ConfigError) in try self.artifacts(mapping, in: place) } ?? []
        let tasks = TaskParser(reader: reader, context: context)
            .parse(mapping, key: "tasks", job: locator, at: indices)
        let tabs = context.log.capture { () throws(ConfigError) in try self.tabs(mapping, in: place) } ?? []
        return JobDefinition(
            name: name,
            resources: resources,
            runInstances: try runInstances(mapping, in: place),
            timeout: try timeout(mapping, in: place),
            environmentVariables: variables,
            artifacts: artifacts,
            serial: try serial(mapping, in: place),
            tasks: tasks,
            tabs: tabs)
    }

    /// `tabs: {name: path}`: each a link on the job's page to one of its artifacts.
    private func tabs(_ mapping: ConfigMapping, in place: String) throws(ConfigError) -> [JobTab] {
        guard let node = mapping["tabs"], !node.isNull else { return [] }
        var tabs: [JobTab] = []
        for entry in try node.mapping(for: "'tabs' in \(place)").entries {
            let what = "tab '\(entry.name)' of \(place)"
            let path = try entry.value.scalarText(for: what)
            guard !path.isEmpty, !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw ConfigError(.invalidValue, at: entry.value.location,
                                  "\(what) must be the path of one of the job's artifacts (relative, without '..'), found '\(path)'")
            }
            tabs.append(JobTab(name: entry.name, path: path))
        }
        return tabs
    }

    private func resources(_ mapping: ConfigMapping, in place: String) throws(ConfigError) -> [String] {
        guard let node = mapping["resources"] else { return [] }
        var resources: [String] = []
        for item in try node.list(for: "'resources' in \(place)", flattening: true) {
            let resource = try reader.text(item, for: "a resource of \(place)").trimmingCharacters(
                in: .whitespacesAndNewlines)
            guard ConfigName.isValid(resource) else {
                throw ConfigError(
                    .invalidName, at: item.location,
                    "invalid resource '\(resource)' in \(place): use \(ConfigName.rule)")
            }
            resources.append(resource)
        }
        return resources
    }

    private func runInstances(_ mapping: ConfigMapping, in place: String) throws(ConfigError) -> RunInstances {
        guard let node = mapping["run_instances"], !node.isNull else { return .one }
        let what = "'run_instances' in \(place)"
        let text = try reader.text(node, for: what).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.lowercased() == "all" {
            // Refused rather than run once: a job meant for every agent (a deploy to each host)
            // must not silently run on one.
            throw ConfigError(
                .notSupported, at: node.location,
                "\(what): 'all' (one copy on each matching agent) is not supported yet; give the number of copies instead")
        }
        guard let count = Int(text), count > 0 else {
            throw ConfigError(
                .invalidValue, at: node.location,
                "expected a positive whole number or 'all' for \(what), found \(node.kindDescription)")
        }
        return .count(count)
    }

    private func timeout(_ mapping: ConfigMapping, in place: String) throws(ConfigError) -> Int? {
        guard let minutes = try reader.int(mapping, "timeout", in: place) else { return nil }
        if minutes < 0, let node = mapping["timeout"] {
            throw ConfigError(
                .invalidValue, at: node.location,
                "'timeout' in \(place) must be a number of minutes, 0 for never, found \(minutes)")
        }
        return minutes
    }

    private func serial(_ mapping: ConfigMapping, in place: String) throws(ConfigError) -> String? {
        guard let node = mapping["serial"], !node.isNull else { return nil }
        return try reader.name(node, kind: "serial key", in: place)
    }

    private func artifacts(_ mapping: ConfigMapping, in place: String) throws(ConfigError) -> [ArtifactDefinition] {
        guard let node = mapping["artifacts"] else { return [] }
        let items = try node.list(for: "'artifacts' in \(place)", flattening: true)
        return items.enumerated().compactMap { index, item in
            context.log.capture { () throws(ConfigError) in
                try artifact(item, what: "artifact \(index + 1) of \(place)")
            }
        }
    }

    private func artifact(_ item: ConfigNode, what: String) throws(ConfigError) -> ArtifactDefinition {
        let entry = try item.mapping(for: what)
        guard entry.entries.count == 1, let typed = entry.entries.first else {
            throw ConfigError(
                .wrongType, at: item.location,
                "expected \(what) as '- build: {source: …}' or '- test: {source: …}' (a mapping with a single key)")
        }
        if typed.name == "external" {
            throw ConfigError(
                .notSupported, at: typed.key.location,
                "external artifacts are not supported by Relevo (\(what)); use 'build' or 'test'")
        }
        guard let type = ArtifactDefinition.ArtifactType(rawValue: typed.name) else {
            throw ConfigError(
                .unknownKey, at: typed.key.location,
                "unknown artifact type '\(typed.name)' in \(what) (expected build or test)")
        }
        let described = "\(typed.name) \(what)"
        let body = try typed.value.mapping(for: described, anchor: typed.key)
        body.reportUnknownKeys(allowed: ["source", "destination"], in: described, log: context.log)
        return ArtifactDefinition(
            type: type,
            source: try reader.requiredString(body, "source", in: described),
            destination: try reader.relativePath(body, "destination", in: described) ?? "")
    }
}
