/// The environments of every file, merged by name as GoCD merges partial environments, and
/// which pipeline belongs to which.
struct EnvironmentCatalog {
    /// A pipeline's place in an environment.
    struct Membership {
        /// The environment's declared name.
        let environment: String
        /// Where the pipeline is listed.
        let location: ConfigLocation
    }

    private static let keys = ["environment_variables", "secure_variables", "pipelines", "agents"]

    private var order: [String] = []
    private var environments: [String: EnvironmentDefinition] = [:]
    private var variableOrigins: [String: [String: ConfigLocation]] = [:]
    /// Environment by pipeline, keyed by the lowercased pipeline name.
    private(set) var membership: [String: Membership] = [:]
    /// Lowercased names of pipelines listed in two environments; they do not load.
    private(set) var conflicted: Set<String> = []

    /// Reads every document's environments.
    ///
    /// - Parameter declaredPipelines: every declared pipeline name (loaded or not) by its
    ///   lowercased form; an environment that lists any other name gets an error.
    static func build(
        _ documents: [ConfigDocument], declaredPipelines: [String: String], log: ConfigIssueLog
    ) -> EnvironmentCatalog {
        var catalog = EnvironmentCatalog()
        for document in documents {
            for entry in document.environments {
                catalog.add(entry, declaredPipelines: declaredPipelines, log: log)
            }
        }
        return catalog
    }

    /// The environments, sorted by name, each listing only the pipelines in `loaded`
    /// (lowercased names), by their declared names.
    func definitions(loaded: [String: String]) -> [EnvironmentDefinition] {
        order.compactMap { environments[$0] }
            .map { environment in
                var environment = environment
                environment.pipelines = environment.pipelines.compactMap { loaded[$0.lowercased()] }.sorted()
                return environment
            }
            .sorted { $0.name.lowercased() < $1.name.lowercased() }
    }

    private mutating func add(_ entry: ConfigMapping.Entry, declaredPipelines: [String: String], log: ConfigIssueLog) {
        let plain = ConfigValueReader(parameters: nil)
        guard let name = log.capture({ () throws(ConfigError) in try plain.name(entry.key, kind: "environment name") }),
            let body = log.capture({ () throws(ConfigError) in
                try entry.value.mapping(for: "environment '\(name)'", anchor: entry.key)
            })
        else { return }
        let key = name.lowercased()
        let place = "environment '\(name)'"
        body.reportUnknownKeys(allowed: Self.keys, in: place, log: log)
        if environments[key] == nil {
            order.append(key)
            environments[key] = EnvironmentDefinition(name: name)
        }
        let environmentName = environments[key]?.name ?? name
        mergeVariables(body, into: key, place: place, log: log)
        let pipelines =
            body["pipelines"].flatMap { node in
                log.capture { () throws(ConfigError) in try node.list(for: "'pipelines' in \(place)") }
            } ?? []
        for item in pipelines {
            guard
                let pipeline = log.capture({ () throws(ConfigError) in
                    try plain.text(item, for: "a pipeline of \(place)")
                })
            else { continue }
            addPipeline(
                pipeline, at: item.location, to: key, environmentName: environmentName, declared: declaredPipelines,
                log: log)
        }
        let agents = log.capture { () throws(ConfigError) in try plain.stringList(body, "agents", in: place) } ?? []
        for agent in agents where !(environments[key]?.agents.contains(agent) ?? true) {
            environments[key]?.agents.append(agent)
        }
    }

    private mutating func mergeVariables(_ body: ConfigMapping, into key: String, place: String, log: ConfigIssueLog) {
        let variables = VariableParser(reader: ConfigValueReader(parameters: nil), log: log).located(body, in: place)
        for (variable, location) in variables {
            if let existing = environments[key]?.environmentVariables.first(where: { $0.name == variable.name }) {
                if existing != variable {
                    let first = variableOrigins[key]?[variable.name].map { " at \($0)" } ?? ""
                    log.add(
                        ConfigError(
                            .duplicateName, at: location,
                            "variable '\(variable.name)' of \(place) is already declared\(first) with another value"))
                }
                continue
            }
            environments[key]?.environmentVariables.append(variable)
            variableOrigins[key, default: [:]][variable.name] = location
        }
    }

    private mutating func addPipeline(
        _ pipeline: String, at location: ConfigLocation, to key: String, environmentName: String,
        declared: [String: String], log: ConfigIssueLog
    ) {
        let pipelineKey = pipeline.lowercased()
        guard let declaredName = declared[pipelineKey] else {
            log.add(
                ConfigError(
                    .unknownPipeline, at: location,
                    "environment '\(environmentName)' lists pipeline '\(pipeline)', which is not defined"))
            return
        }
        if let existing = membership[pipelineKey] {
            guard existing.environment.lowercased() != key else { return }
            conflicted.insert(pipelineKey)
            log.add(
                ConfigError(
                    .environmentConflict, at: location,
                    "pipeline '\(declaredName)' is in environment '\(existing.environment)' (\(existing.location)) and in "
                        + "environment '\(environmentName)': a pipeline may belong to at most one environment",
                    pipeline: declaredName))
            return
        }
        membership[pipelineKey] = Membership(environment: environmentName, location: location)
        environments[key]?.pipelines.append(declaredName)
    }
}
