/// An upstream pipeline's stage: each time it passes, this pipeline is triggered (GoCD's
/// dependency material), and `fetch` tasks may take artifacts from it.
public struct DependencyMaterial: Sendable, Equatable, Codable {
    /// The material's name, unique in its pipeline; defaults to the upstream pipeline's name.
    public var name: String
    /// The upstream pipeline, spelled as that pipeline declares its name.
    public var pipeline: String
    /// The upstream stage whose success triggers this pipeline.
    public var stage: String
    /// When `true`, a new upstream run does not trigger this pipeline by itself; the upstream
    /// revision is still used when something else triggers it.
    public var ignoreForScheduling: Bool

    /// Creates a dependency material.
    public init(name: String, pipeline: String, stage: String, ignoreForScheduling: Bool = false) {
        self.name = name
        self.pipeline = pipeline
        self.stage = stage
        self.ignoreForScheduling = ignoreForScheduling
    }
}
