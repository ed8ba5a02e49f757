/// Something wrong in the config repository, with the file, line and column of the offending
/// YAML node. Loading goes on past errors: a broken file or pipeline is reported and skipped.
public struct ConfigError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    /// What kind of mistake it is, for callers and tests that need more than the message.
    public enum Code: String, Sendable, Codable, CaseIterable {
        /// The file could not be read.
        case unreadableFile
        /// The file is not valid YAML (position from the YAML parser).
        case yamlSyntax
        /// A node has the wrong shape: a list where a mapping was expected, and so on.
        case wrongType
        /// A key that is not part of the format.
        case unknownKey
        /// A required key is missing.
        case missingKey
        /// A value is not one of those allowed (a bad boolean, number or enum value).
        case invalidValue
        /// A name breaks GoCD's naming rule.
        case invalidName
        /// A name declared twice where it must be unique.
        case duplicateName
        /// Keys that cannot be used together, such as `stages` and `template`.
        case conflictingKeys
        /// A GoCD feature Relevo does not implement.
        case notSupported
        /// `#{name}` names no parameter of the pipeline.
        case unknownParameter
        /// `template:` names no template.
        case unknownTemplate
        /// A dependency material or fetch task names a pipeline, stage or job that does not exist.
        case unknownUpstream
        /// Dependency materials form a cycle.
        case dependencyCycle
        /// An environment lists a pipeline that is declared nowhere.
        case unknownPipeline
        /// A pipeline is listed in two environments.
        case environmentConflict
    }

    /// What kind of mistake it is.
    public var code: Code
    /// The file's path relative to the loaded directory.
    public var file: String
    /// The line of the offending node, from 1.
    public var line: Int
    /// The column of the offending node, from 1.
    public var column: Int
    /// What is wrong and what was expected.
    public var message: String
    /// The pipeline this error kept from loading, if any.
    public var pipeline: String?

    /// Creates an error.
    public init(code: Code, file: String, line: Int, column: Int, message: String, pipeline: String? = nil) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.pipeline = pipeline
    }

    /// Creates an error at a location.
    public init(_ code: Code, at location: ConfigLocation, _ message: String, pipeline: String? = nil) {
        self.init(
            code: code, file: location.file, line: location.line, column: location.column,
            message: message, pipeline: pipeline)
    }

    /// Where the error is.
    public var location: ConfigLocation {
        ConfigLocation(file: file, line: line, column: column)
    }

    /// `file:line:column: message`, as compilers print it.
    public var description: String { "\(location): \(message)" }
}
