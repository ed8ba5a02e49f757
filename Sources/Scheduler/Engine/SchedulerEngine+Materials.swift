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
            var changed = false
            for material in materials where previous?[material.name] != latest[material.name] {
                guard let from = previous?[material.name], let to = latest[material.name], material.hasFilter,
                      await !filterTriggers(pipeline.name, material, from: from, to: to) else {
                    changed = true
                    break
                }
            }
            guard changed else { return nil }
            return try await trigger(pipeline.name, cause: .materialChange, revisions: latest)
        } catch {
            logger.error("cannot schedule after a material change", metadata: ["pipeline": "\(pipeline.name)", "error": "\(error)"])
            return nil
        }
    }

    /// Whether the commits from `from` to `to` of `material` trigger `pipeline` through the
    /// material's `ignore`/`includes` filter (GoCD's rules, ``GitMaterial/triggers(changedFiles:)``).
    /// Remembered per range, so that a poll does not diff the same commits again; a diff that
    /// fails counts as a change (a build too many rather than one missing).
    private func filterTriggers(_ pipeline: String, _ material: GitMaterial, from: String, to: String) async -> Bool {
        let key = "\(pipeline.lowercased())|\(material.name)|\(from)..\(to)"
        if let known = filteredChanges[key] { return known }
        let triggers: Bool
        do {
            let mirror = try await gitClient.updateMirror(url: material.url)
            let files = try await gitClient.changedFiles(repository: mirror, from: from, to: to)
            triggers = material.triggers(changedFiles: files)
            if !triggers {
                logger.info("material change filtered out: no changed file counts", metadata: [
                    "pipeline": "\(pipeline)", "material": "\(material.name)", "from": "\(from.prefix(12))", "to": "\(to.prefix(12))",
                    "files": "\(files.prefix(10).joined(separator: ", "))\(files.count > 10 ? ", …" : "")"])
            }
        } catch {
            logger.warning("material filter not applied: the change cannot be listed", metadata: [
                "pipeline": "\(pipeline)", "material": "\(material.name)", "error": "\(error)"])
            return true
        }
        if filteredChanges.count > 1000 { filteredChanges.removeAll() }
        filteredChanges[key] = triggers
        return triggers
    }
}
