import Foundation
import Yams

/// A process's settings (the scheduler's, a worker's), each taken, in order of increasing
/// precedence, from its default, a YAML settings file, an environment variable and a flag. The
/// layering is written once, here; each settings type says what its keys are and how a value
/// applies.
public protocol LayeredSettings {
    /// The settings' names: the settings file's keys (e.g. `broker_url`).
    associatedtype Key: RawRepresentable, CaseIterable, Hashable where Key.RawValue == String

    /// The defaults.
    init()
    /// The environment variable that sets `key`.
    static func environmentVariable(of key: Key) -> String
    /// Whether `key` takes a list (in the file, a YAML list or a comma-separated value).
    static func takesList(_ key: Key) -> Bool
    /// Takes `value` for `key`; `source` (file:line:column, a variable, a flag) names where it
    /// came from in the error, a ``SettingsError``.
    mutating func apply(_ key: Key, _ value: String, source: String) throws(SettingsError)
}

/// A setting that could not be used, naming where it came from.
public struct SettingsError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension LayeredSettings {
    /// The settings from `file` (if any), then `environment`, then `flags`.
    public static func resolve(file: String?, environment: [String: String], flags: [Key: String]) throws(SettingsError) -> Self {
        var settings = Self()
        if let file {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw SettingsError("cannot read the settings file \(file): \(error.localizedDescription)")
            }
            let node: Node?
            do { node = try Yams.compose(yaml: text) } catch {
                throw SettingsError("\(file): not valid YAML: \(error)")
            }
            for (keyNode, valueNode) in node?.mapping ?? [:] {
                let name = keyNode.string ?? ""
                let place = "\(file):\(keyNode.mark?.line ?? 0):\(keyNode.mark?.column ?? 0)"
                guard let key = Key(rawValue: name) else {
                    throw SettingsError("\(place): unknown setting '\(name)' (expected one of: \(Key.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                let value: String
                if let scalar = valueNode.scalar {
                    value = scalar.string
                } else if takesList(key), let items = valueNode.sequence {
                    value = items.compactMap { $0.scalar?.string }.joined(separator: ",")
                } else {
                    throw SettingsError("\(place): '\(name)' must be \(takesList(key) ? "a value or a list of values" : "a single value")")
                }
                try settings.apply(key, value, source: place)
            }
        }
        for key in Key.allCases {
            let variable = environmentVariable(of: key)
            if let value = environment[variable] { try settings.apply(key, value, source: variable) }
        }
        for (key, value) in flags { try settings.apply(key, value, source: "--\(key.rawValue.replacingOccurrences(of: "_", with: "-"))") }
        return settings
    }
}
