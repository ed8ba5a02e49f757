/// Turns parsed config files into a snapshot: templates first, then each pipeline on its own,
/// then environments, then the checks that span pipelines.
struct SnapshotBuilder {
    /// Loads `files`, in the order given.
    func build(_ files: [ConfigFile]) -> ConfigSnapshot {
        let log = ConfigIssueLog()
        let documents = files.map { ConfigDocument.parse($0, log: log) }
        let templates = TemplateRegistry.build(documents, log: log)
        let (parsed, declared) = pipelines(documents, templates: templates, log: log)
        let catalog = EnvironmentCatalog.build(documents, declaredPipelines: declared, log: log)
        let candidates = parsed.filter { !catalog.conflicted.contains($0.definition.name.lowercased()) }
        let accepted = DependencyValidator(declared: declared).validate(candidates, log: log)
        let placed = accepted.map { pipeline in
            var definition = pipeline.definition
            definition.environment = catalog.membership[definition.name.lowercased()]?.environment
            return definition
        }
        let pipelines = SerialKeyValidator().validate(placed, log: log)
        let loaded = Dictionary(
            pipelines.map { ($0.name.lowercased(), $0.name) }, uniquingKeysWith: { first, _ in first })
        return ConfigSnapshot(
            files: files.map(\.name),
            pipelines: pipelines,
            environments: catalog.definitions(loaded: loaded),
            errors: sorted(log.errors))
    }

    /// Every pipeline that parses on its own, and every declared name (lowercased → declared).
    private func pipelines(
        _ documents: [ConfigDocument], templates: TemplateRegistry, log: ConfigIssueLog
    ) -> (parsed: [ParsedPipeline], declared: [String: String]) {
        var parsed: [ParsedPipeline] = []
        var declared: [String: String] = [:]
        var origins: [String: ConfigLocation] = [:]
        let names = ConfigValueReader(parameters: nil)
        for document in documents {
            for entry in document.pipelines {
                guard
                    let name = log.capture({ () throws(ConfigError) in try names.name(entry.key, kind: "pipeline name")
                    })
                else {
                    continue
                }
                let key = name.lowercased()
                if let first = origins[key] {
                    log.add(
                        ConfigError(
                            .duplicateName, at: entry.key.location,
                            "pipeline '\(name)' is already defined at \(first); this definition is ignored",
                            pipeline: name))
                    continue
                }
                origins[key] = entry.key.location
                declared[key] = name
                let pipelineLog = ConfigIssueLog()
                let pipeline = PipelineParser(name: name, nameNode: entry.key, body: entry.value, templates: templates)
                    .parse(log: pipelineLog)
                log.add(
                    contentsOf: pipelineLog.errors.map { error in
                        var error = error
                        error.pipeline = error.pipeline ?? name
                        return error
                    })
                if let pipeline { parsed.append(pipeline) }
            }
        }
        return (parsed, declared)
    }

    /// Errors by file, line and column; errors at the same place keep the order they were found in.
    private func sorted(_ errors: [ConfigError]) -> [ConfigError] {
        errors.enumerated()
            .sorted { ($0.element.location, $0.offset) < ($1.element.location, $1.offset) }
            .map(\.element)
    }
}
