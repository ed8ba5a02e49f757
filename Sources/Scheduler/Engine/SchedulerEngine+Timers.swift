import Foundation
import Logging
import Shared

extension SchedulerEngine {
    /// One pass of the timers (every second): each pipeline whose `timer` is due gets a new
    /// instance, triggered by "timer" (GoCD's build cause), pinned to its materials' newest
    /// commits; with `only_on_changes`, only if one of them moved since its newest instance (or it
    /// never ran). A paused or locked pipeline skips that firing, as it would skip a poll. A timer
    /// that fired while the scheduler was down does not fire again on start: it waits for its
    /// next time.
    func fireTimers(now: Date = Date()) async {
        var present: Set<String> = []
        for pipeline in config.pipelines {
            guard let timer = pipeline.timer else { continue }
            let key = pipeline.name.lowercased()
            present.insert(key)
            guard let known = timers[key], known.schedule == timer.schedule else {
                let next = timer.schedule.nextFire(after: now)
                timers[key] = (timer.schedule, next)
                logger.info("timer set", metadata: ["pipeline": "\(pipeline.name)", "spec": "\(timer.schedule)",
                                                    "next": "\(next.map { "\($0)" } ?? "never")"])
                continue
            }
            guard let due = known.next, due <= now else { continue }
            timers[key] = (timer.schedule, timer.schedule.nextFire(after: now))
            await fire(pipeline, timer: timer)
        }
        timers = timers.filter { present.contains($0.key) }
    }

    private func fire(_ pipeline: PipelineDefinition, timer: PipelineTimer) async {
        do {
            if try await store.pauses()[pipeline.name.lowercased()] != nil {
                logger.info("timer skipped: pipeline paused", metadata: ["pipeline": "\(pipeline.name)"])
                return
            }
            if let holder = try await lockHolder(of: pipeline) {
                logger.info("timer skipped: pipeline locked", metadata: ["pipeline": "\(pipeline.name)", "lock": "\(holder)"])
                return
            }
            var latest: [String: String] = [:]
            for material in pipeline.gitMaterials {
                latest[material.name] = try await gitClient.latestRevision(url: material.url, branch: material.branch)
            }
            // Dependency materials pinned to their upstreams' newest passed stages, as a trigger pins them.
            let current = try await pinDependencies(of: pipeline, given: latest)
            if timer.onlyOnChanges, let previous = try await store.history(of: pipeline.name, limit: 1).runs.first {
                guard pipeline.materials.contains(where: { previous.materialRevisions[$0.name] != current[$0.name] }) else {
                    logger.info("timer skipped: no new changes (only_on_changes)", metadata: ["pipeline": "\(pipeline.name)"])
                    return
                }
            }
            let run = try await trigger(pipeline.name, cause: .manual(user: "timer"), revisions: current)
            logger.info("timer fired", metadata: ["pipeline": "\(pipeline.name)", "counter": "\(run.counter)"])
        } catch {
            logger.warning("timer could not trigger the pipeline", metadata: ["pipeline": "\(pipeline.name)", "error": "\(error)"])
        }
    }
}
