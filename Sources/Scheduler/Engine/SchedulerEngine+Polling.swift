import Foundation
import Logging
import Shared

extension SchedulerEngine {
    /// One pass of material polling: a pipeline whose git materials moved since its newest
    /// instance (or that never ran) gets a new instance pinned to the new commits. Pipelines
    /// whose first stage is manual run only when asked, as in GoCD.
    func pollMaterials() async {
        for pipeline in config.pipelines {
            let materials = pipeline.gitMaterials.filter(\.autoUpdate)
            guard !materials.isEmpty else { continue }
            _ = await pollIfChanged(pipeline, watching: materials)
        }
    }

    /// A push to a repository (a webhook): every pipeline with a git material on it (and on
    /// `branch`, if known) is polled now, `auto_update: false` materials included. Returns the
    /// pipelines that were started.
    func materialsPushed(urls: [String], branch: String?) async -> [String] {
        let pushed = Set(urls.map(GitURL.comparable))
        var started: [String] = []
        for pipeline in config.pipelines {
            let materials = pipeline.gitMaterials.filter { material in
                pushed.contains(GitURL.comparable(material.url)) && (branch == nil || branch == material.branch)
            }
            guard !materials.isEmpty else { continue }
            if let run = await pollIfChanged(pipeline, watching: materials) { started.append("\(pipeline.name)/\(run.counter)") }
        }
        return started
    }

    /// Starts `pipeline` if any of `materials` moved since its newest instance.
    private func pollIfChanged(_ pipeline: PipelineDefinition, watching materials: [GitMaterial]) async -> PipelineRun? {
        guard pipeline.stages.first?.approval.type != .manual else { return nil }
        var latest: [String: String] = [:]
        do {
            for material in pipeline.gitMaterials {
                latest[material.name] = try await gitClient.latestRevision(url: material.url, branch: material.branch)
            }
        } catch {
            logger.warning("material poll failed", metadata: ["pipeline": "\(pipeline.name)", "error": "\(error)"])
            return nil
        }
        do {
            if try await store.pauses()[pipeline.name.lowercased()] != nil {
                logger.debug("material poll skipped: pipeline paused", metadata: ["pipeline": "\(pipeline.name)"])
                return nil
            }
            if let holder = try await lockHolder(of: pipeline) {
                logger.debug("material poll skipped: pipeline locked", metadata: ["pipeline": "\(pipeline.name)", "lock": "\(holder)"])
                return nil
            }
            let previous = try await store.history(of: pipeline.name, limit: 1).runs.first?.materialRevisions
            let changed = materials.contains { previous?[$0.name] != latest[$0.name] }
            guard changed else { return nil }
            return try await trigger(pipeline.name, cause: .materialChange, revisions: latest)
        } catch {
            logger.error("cannot schedule after a material change", metadata: ["pipeline": "\(pipeline.name)", "error": "\(error)"])
            return nil
        }
    }
}

/// Watches the config directory and reloads it when a file changes. A pipeline that the new
/// files break keeps running with its last good definition; every error is logged with file,
/// line and column.
actor ConfigReloader {
    private let directory: URL
    private let engine: SchedulerEngine
    private let logger: Logger
    private var fingerprint: [String] = []

    init(directory: URL, engine: SchedulerEngine, logger: Logger) {
        self.directory = directory
        self.engine = engine
        self.logger = logger
    }

    /// Loads the config if any file changed since the last call (always on the first call).
    func reloadIfChanged() async {
        let current = Self.fingerprint(of: directory)
        guard current != fingerprint else { return }
        let first = fingerprint.isEmpty
        fingerprint = current
        let fresh = ConfigLoader().load(directory: directory)
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
}
