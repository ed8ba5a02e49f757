/// A config file's text and its path relative to the config directory, for loading without a
/// file system.
public struct ConfigFile: Sendable, Equatable {
    /// The path relative to the config directory, with `/` separators; errors name it.
    public var name: String
    /// The file's YAML text.
    public var text: String

    /// Creates a file.
    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }
}
