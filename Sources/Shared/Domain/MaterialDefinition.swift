/// Something a pipeline is built from and triggered by (GoCD's `materials`).
///
/// Encoded as the material's own fields plus `"type": "git"` or `"type": "dependency"`.
public enum MaterialDefinition: Sendable, Equatable, Codable {
    /// A git repository.
    case git(GitMaterial)
    /// An upstream pipeline's stage.
    case dependency(DependencyMaterial)

    /// The material's name, unique in its pipeline.
    public var name: String {
        switch self {
        case .git(let git): git.name
        case .dependency(let dependency): dependency.name
        }
    }

    /// The git material, if this is one.
    public var git: GitMaterial? {
        if case .git(let git) = self { git } else { nil }
    }

    /// The dependency material, if this is one.
    public var dependency: DependencyMaterial? {
        if case .dependency(let dependency) = self { dependency } else { nil }
    }

    private enum TypeKey: String, CodingKey {
        case type
    }

    private enum Kind: String, Codable {
        case git, dependency
    }

    /// Encodes the material's fields and its `type`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: TypeKey.self)
        switch self {
        case .git(let git):
            try container.encode(Kind.git, forKey: .type)
            try git.encode(to: encoder)
        case .dependency(let dependency):
            try container.encode(Kind.dependency, forKey: .type)
            try dependency.encode(to: encoder)
        }
    }

    /// Decodes a material by its `type`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: TypeKey.self)
        switch try container.decode(Kind.self, forKey: .type) {
        case .git: self = .git(try GitMaterial(from: decoder))
        case .dependency: self = .dependency(try DependencyMaterial(from: decoder))
        }
    }
}
