public import Foundation

/// Loads a GoCD config repository (`*.gocd.yaml` and `*.gocd.yml` files, GoCD's YAML format up to
/// `format_version: 10`, plus Relevo's `templates` and `serial`) into a ``ConfigSnapshot``.
///
/// Loading never fails as a whole: a file that is not valid YAML, or a pipeline with a
/// mistake, is reported in ``ConfigSnapshot/errors`` and left out, while everything else loads.
public struct ConfigLoader: Sendable {
    /// The file name endings that mark a config file.
    public static let fileExtensions = [".gocd.yaml", ".gocd.yml"]

    /// Creates a loader.
    public init() {}

    /// Loads every config file under `directory`, recursively, in the order of their relative
    /// paths; hidden files and directories (such as `.git`) are skipped.
    public func load(directory: URL) -> ConfigSnapshot {
        let (files, errors) = Self.readFiles(under: directory)
        var snapshot = load(files: files)
        if !errors.isEmpty {
            snapshot.errors = (errors + snapshot.errors).sorted { $0.location < $1.location }
        }
        return snapshot
    }

    /// One place config files come from: a directory, and the name its files' paths start with
    /// in errors and origins (nil for the local config directory; a config repository's id).
    public struct Source: Sendable, Equatable {
        public var name: String?
        public var directory: URL

        public init(name: String?, directory: URL) {
            self.name = name
            self.directory = directory
        }
    }

    /// Loads every config file of every source, as one config (a pipeline defined twice, in one
    /// source or in two, is an error on the second definition). A config repository's files are
    /// named `<repository>:<path>`.
    public func load(sources: [Source]) -> ConfigSnapshot {
        var files: [ConfigFile] = []
        var errors: [ConfigError] = []
        for source in sources {
            let (found, failed) = Self.readFiles(under: source.directory)
            guard let name = source.name else {
                files += found
                errors += failed
                continue
            }
            files += found.map { ConfigFile(name: "\(name):\($0.name)", text: $0.text) }
            errors += failed.map { error in
                var renamed = error
                renamed.file = "\(name):\(error.file)"
                return renamed
            }
        }
        var snapshot = load(files: files)
        if !errors.isEmpty {
            snapshot.errors = (errors + snapshot.errors).sorted { $0.location < $1.location }
        }
        return snapshot
    }

    /// Loads config files given as text, in the order given; their names appear in errors.
    public func load(files: [ConfigFile]) -> ConfigSnapshot {
        SnapshotBuilder().build(files)
    }

    /// Whether `name` ends like a config file.
    public static func isConfigFile(_ name: String) -> Bool {
        fileExtensions.contains { name.hasSuffix($0) }
    }

    private static func readFiles(under directory: URL) -> ([ConfigFile], [ConfigError]) {
        let root = directory.standardizedFileURL.resolvingSymlinksInPath()
        var errors: [ConfigError] = []
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            let location = ConfigLocation(file: directory.path, line: 1, column: 1)
            return (
                [],
                [ConfigError(.unreadableFile, at: location, "the config directory '\(directory.path)' does not exist")]
            )
        }
        guard
            let enumerator = FileManager.default.enumerator(
                at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]
            )
        else {
            let location = ConfigLocation(file: directory.path, line: 1, column: 1)
            return (
                [], [ConfigError(.unreadableFile, at: location, "cannot list the config directory '\(directory.path)'")]
            )
        }
        var paths: [(relative: String, url: URL)] = []
        for case let url as URL in enumerator where isConfigFile(url.lastPathComponent) {
            let resolved = url.standardizedFileURL.resolvingSymlinksInPath()
            paths.append((relativePath(of: resolved, under: root), resolved))
        }
        var files: [ConfigFile] = []
        for (relative, url) in paths.sorted(by: { $0.relative < $1.relative }) {
            do {
                let data = try Data(contentsOf: url)
                guard let text = String(data: data, encoding: .utf8) else {
                    let location = ConfigLocation(file: relative, line: 1, column: 1)
                    errors.append(ConfigError(.unreadableFile, at: location, "the file is not UTF-8 text"))
                    continue
                }
                files.append(ConfigFile(name: relative, text: text))
            } catch {
                let location = ConfigLocation(file: relative, line: 1, column: 1)
                errors.append(
                    ConfigError(.unreadableFile, at: location, "cannot read the file: \(error.localizedDescription)"))
            }
        }
        return (files, errors)
    }

    private static func relativePath(of url: URL, under root: URL) -> String {
        let rootComponents = root.pathComponents
        let components = url.pathComponents
        guard components.starts(with: rootComponents) else { return url.path }
        return components.dropFirst(rootComponents.count).joined(separator: "/")
    }
}
