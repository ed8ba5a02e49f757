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
