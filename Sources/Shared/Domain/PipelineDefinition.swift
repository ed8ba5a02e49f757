/// A pipeline as loaded from the config repository, fully expanded: its template applied,
/// its parameters substituted and every default filled in.
public struct PipelineDefinition: Sendable, Equatable, Codable {
    /// The pipeline's name, unique in the whole configuration (case-insensitively, as in GoCD).
    public var name: String
    /// The dashboard group; GoCD's `defaultGroup` when the file names none.
    public var group: String
    /// How instances are labelled.
    public var labelTemplate: LabelTemplate
    /// Whether instances may overlap.
    public var lockBehavior: LockBehavior
    /// Position in the group on the dashboard (GoCD's `display_order`, default -1).
    public var displayOrder: Int
    /// The parameters as declared; they are already substituted everywhere else.
    public var parameters: [String: String]
    /// The template the stages came from, or `nil` when the pipeline declares its own stages.
    public var template: String?
    /// Variables of the pipeline, applied over the environment's.
    public var environmentVariables: [EnvironmentVariable]
    /// What the pipeline is built from and triggered by.
    public var materials: [MaterialDefinition]
    /// The stages, in order.
    public var stages: [StageDefinition]
    /// The environment the pipeline belongs to, or `nil` for none.
    public var environment: String?
    /// Where the pipeline's name is written.
    public var origin: ConfigLocation
    /// When a timer triggers the pipeline, if ever.
    public var timer: PipelineTimer?
    /// Links from commit messages to cards or bugs, if any.
    public var trackingTool: TrackingTool?

    /// The default group of a pipeline that names none.
    public static let defaultGroup = "defaultGroup"

    /// Creates a pipeline.
    public init(
        name: String,
        group: String = PipelineDefinition.defaultGroup,
        labelTemplate: LabelTemplate = .default,
        lockBehavior: LockBehavior = .none,
        displayOrder: Int = -1,
        parameters: [String: String] = [:],
        template: String? = nil,
        environmentVariables: [EnvironmentVariable] = [],
        materials: [MaterialDefinition],
        stages: [StageDefinition],
        environment: String? = nil,
        origin: ConfigLocation,
        timer: PipelineTimer? = nil,
        trackingTool: TrackingTool? = nil
    ) {
        self.name = name
        self.group = group
        self.labelTemplate = labelTemplate
        self.lockBehavior = lockBehavior
        self.displayOrder = displayOrder
        self.parameters = parameters
        self.template = template
        self.environmentVariables = environmentVariables
        self.materials = materials
        self.stages = stages
        self.environment = environment
        self.origin = origin
        self.timer = timer
        self.trackingTool = trackingTool
    }

    /// The stage with this name (GoCD names are case-insensitive).
    public func stage(named name: String) -> StageDefinition? {
        stages.first { $0.name.lowercased() == name.lowercased() }
    }

    /// The pipeline's git materials, in declaration order.
    public var gitMaterials: [GitMaterial] {
        materials.compactMap(\.git)
    }

    /// The pipeline's dependency materials, in declaration order.
    public var dependencyMaterials: [DependencyMaterial] {
        materials.compactMap(\.dependency)
    }

    /// Renders this pipeline's label for an instance; see ``LabelTemplate/render(counter:revisions:)``.
    public func label(counter: Int, revisions: [String: String], variables: [String: String] = [:]) -> String {
        labelTemplate.render(counter: counter, revisions: revisions, variables: variables)
    }
}
