import Foundation
import Logging
import Shared

/// Watches the config directory and the config repositories' checkouts and reloads them when a
/// file changes. A pipeline that the new files break keeps running with its last good
/// definition; every error is logged with file, line and column (and shown on the dashboard).
actor ConfigReloader {
    private let directory: URL
    private let engine: SchedulerEngine
    private let logger: Logger
    /// Config repositories loaded beside the directory.
    private let repositories: ConfigRepositories?
    private var fingerprint: [String] = []

    init(directory: URL, engine: SchedulerEngine, repositories: ConfigRepositories? = nil, logger: Logger) {
        self.directory = directory
        self.engine = engine
        self.repositories = repositories
        self.logger = logger
    }

    /// Loads the config if any file changed since the last call (always on the first call).
    func reloadIfChanged() async {
        let sources = [ConfigLoader.Source(name: nil, directory: directory)] + (await repositories?.sources ?? [])
        let current = sources.flatMap { source in Self.fingerprint(of: source.directory).map { "\(source.name ?? "")|\($0)" } }
        guard current != fingerprint else { return }
        let first = fingerprint.isEmpty
        fingerprint = current
        let fresh = Self.decryptingPasswords(ConfigLoader().load(sources: sources), cipher: engine.dispatcher.secrets.cipher)
        for error in fresh.errors {
            logger.error("config error: \(error.description)")
        }
        let previous = await engine.config
        var merged = fresh
        // Keep the last good definition of every pipeline that the new files break: the
        // pipelines an error names, and all pipelines of a file that failed as a whole (YAML
        // syntax, unreadable). A missing directory keeps everything.
        let broken = Set(fresh.errors.compactMap(\.pipeline))
        let brokenFiles = Set(fresh.errors.filter { $0.pipeline == nil }.map(\.file))
        let directoryMissing = !FileManager.default.fileExists(atPath: directory.path)
        for pipeline in previous.pipelines where merged.pipeline(named: pipeline.name) == nil
            && (directoryMissing || broken.contains(pipeline.name) || brokenFiles.contains(pipeline.origin.file)) {
            merged.pipelines.append(pipeline)
            logger.warning("pipeline keeps its last good config", metadata: ["pipeline": "\(pipeline.name)"])
        }
        if directoryMissing { merged.environments = previous.environments }
        logger.info(first ? "config loaded" : "config reloaded",
                    metadata: ["pipelines": "\(merged.pipelines.count)", "errors": "\(fresh.errors.count)", "directory": "\(directory.path)"])
        await engine.apply(config: merged)
    }

    private static func fingerprint(of directory: URL) -> [String] {
        guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.contentModificationDateKey, .fileSizeKey],
                                                               options: [.skipsHiddenFiles]) else { return ["missing"] }
        var entries: [String] = []
        for case let url as URL in enumerator where ConfigLoader.isConfigFile(url.lastPathComponent) {
            let values = try? url.resourceValues(forKeys: [.contentModificationDateKey, .fileSizeKey])
            entries.append("\(url.path)|\(values?.contentModificationDate?.timeIntervalSince1970 ?? 0)|\(values?.fileSize ?? -1)")
        }
        return entries.sorted()
    }

    /// `snapshot` with every git material's `encrypted_password` decrypted into its URL; a
    /// pipeline whose password this server's key cannot open is left out with an error (its last
    /// good definition keeps running).
    static func decryptingPasswords(_ snapshot: ConfigSnapshot, cipher: GoCipher?) -> ConfigSnapshot {
        var result = snapshot
        result.pipelines = []
        for var pipeline in snapshot.pipelines {
            var failure: String?
            pipeline.materials = pipeline.materials.map { material in
                guard case .git(var git) = material, let password = GitURL.password(in: git.url), GoCipher.isEncrypted(password) else { return material }
                guard let cipher, let plain = try? cipher.decrypt(password) else {
                    failure = "the encrypted_password of material '\(git.name)' cannot be decrypted with this server's cipher.aes"
                    return material
                }
                git.url = GitURL.replacingPassword(in: git.url, with: plain)
                return .git(git)
            }
            if let failure {
                result.errors.append(ConfigError(.invalidValue, at: pipeline.origin, "\(failure) (pipeline '\(pipeline.name)')", pipeline: pipeline.name))
            } else {
                result.pipelines.append(pipeline)
            }
        }
        return result
    }
}
