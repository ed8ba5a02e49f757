/// Files a job publishes to the artifact store when it finishes (GoCD's `artifacts`).
public struct ArtifactDefinition: Sendable, Equatable, Codable {
    /// GoCD's two kinds of server-stored artifacts.
    public enum ArtifactType: String, Sendable, Codable, CaseIterable {
        /// Build output, such as packages.
        case build
        /// Test reports.
        case test
    }

    /// Build output or test reports.
    public var type: ArtifactType
    /// A file, directory or glob, relative to the job's working directory.
    public var source: String
    /// A directory under the job's artifact root; empty means the root itself.
    public var destination: String

    /// Creates an artifact declaration.
    public init(type: ArtifactType, source: String, destination: String = "") {
        self.type = type
        self.source = source
        self.destination = destination
    }
}
