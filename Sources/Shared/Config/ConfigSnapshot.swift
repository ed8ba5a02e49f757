import Foundation

/// Everything one load of the config repository produced: the pipelines and environments that
/// are valid, and the errors that kept the others out.
public struct ConfigSnapshot: Sendable, Equatable, Codable {
    /// The config files read, relative to the directory, sorted.
    public var files: [String]
    /// The valid pipelines, fully expanded, in file order then declaration order.
    public var pipelines: [PipelineDefinition]
    /// The environments, merged across files, sorted by name.
    public var environments: [EnvironmentDefinition]
    /// Every problem found, sorted by file, line and column.
    public var errors: [ConfigError]

    /// Creates a snapshot.
    public init(
        files: [String] = [],
        pipelines: [PipelineDefinition] = [],
        environments: [EnvironmentDefinition] = [],
        errors: [ConfigError] = []
    ) {
        self.files = files
        self.pipelines = pipelines
        self.environments = environments
        self.errors = errors
    }

    /// Whether the whole repository loaded without a single error.
    public var isValid: Bool { errors.isEmpty }

    /// The pipeline with this name (GoCD names are case-insensitive).
    public func pipeline(named name: String) -> PipelineDefinition? {
        pipelines.first { $0.name.lowercased() == name.lowercased() }
    }

    /// The environment with this name (GoCD names are case-insensitive).
    public func environment(named name: String) -> EnvironmentDefinition? {
        environments.first { $0.name.lowercased() == name.lowercased() }
    }

    /// The snapshot as `relevo-scheduler validate --json` prints it: pretty, sorted keys,
    /// secure values redacted.
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
