import Foundation
import Logging
import Shared

/// An upstream trigger that found its pipeline locked, kept in the store and retried by the
/// reconcile pass (also after a restart).
struct DeferredTrigger: Sendable {
    var pipeline: String
    var cause: TriggerCause
    var revisions: [String: String]
    /// Whether it was deferred before (then a retry that fails again is not logged again).
    var retried = false
    /// Its row in `deferred_triggers`, once stored.
    var id: Int64?
}

extension SchedulerEngine {
    // MARK: Dependency materials

    /// `given` completed with a pin for every dependency material: the newest upstream runs that
    /// agree on the ancestors they share (fan-in, ``resolveFanIn(of:given:)``), or, when the
    /// passed runs hold no such set yet, the newest instance of each upstream whose stage passed
    /// (a trigger by hand or by a timer still runs; it is logged). An upstream that never passed
    /// is left unpinned (a `fetch` from it fails with a clear message).
    func pinDependencies(of definition: PipelineDefinition, given: [String: String]) async throws -> [String: String] {
        if let consistent = try await resolveFanIn(of: definition, given: given) { return consistent }
        logger.warning("no consistent set of upstream runs (fan-in) yet; using the newest of each",
                       metadata: ["pipeline": "\(definition.name)"])
        var revisions = given
        for material in definition.dependencyMaterials where revisions[material.name] == nil {
            if let pin = try await latestPassed(material.pipeline, stage: material.stage) {
                revisions[material.name] = pin.revision
            } else {
                logger.info("dependency material not pinned: its upstream stage never passed",
                            metadata: ["pipeline": "\(definition.name)", "upstream": "\(material.pipeline)/\(material.stage)"])
            }
        }
        return revisions
    }

    private func latestPassed(_ pipeline: String, stage: String) async throws -> DependencyPin? {
        let runs = try await store.history(of: pipeline, limit: 50).runs
        for run in runs {
            if let passed = run.stages.filter({ $0.name == stage && $0.result == .passed }).max(by: { $0.counter < $1.counter }) {
                return DependencyPin(pipeline: run.pipelineName, counter: run.counter, stage: stage, stageCounter: passed.counter)
            }
        }
        return nil
    }

    /// A stage of `run` passed: every pipeline with a dependency material on it is triggered,
    /// pinned to this stage run (fan-out). A git material that the downstream shares with the
    /// upstream is pinned to the upstream's commit.
    func triggerDownstream(of run: PipelineRun, stage: String) async {
        guard let stageRun = run.stages.filter({ $0.name == stage }).max(by: { $0.counter < $1.counter }) else { return }
        let pin = DependencyPin(pipeline: run.pipelineName, counter: run.counter, stage: stage, stageCounter: stageRun.counter)
        let upstream = config.pipeline(named: run.pipelineName)
        for downstream in config.pipelines {
            let materials = downstream.dependencyMaterials.filter {
                $0.pipeline.lowercased() == run.pipelineName.lowercased() && $0.stage == stage && !$0.ignoreForScheduling
            }
            guard !materials.isEmpty else { continue }
            var revisions: [String: String] = [:]
            for material in materials { revisions[material.name] = pin.revision }
            for git in downstream.gitMaterials {
                if let shared = upstream?.gitMaterials.first(where: { $0.url == git.url && $0.branch == git.branch }),
                   let revision = run.materialRevisions[shared.name] {
                    revisions[git.name] = revision
                }
            }
            // A stage completion reported twice must not trigger twice.
            do {
                let recent = try await store.history(of: downstream.name, limit: 20).runs
                if recent.contains(where: { past in materials.contains { past.materialRevisions[$0.name] == pin.revision } }) { continue }
            } catch {
                logger.warning("cannot check for an earlier trigger of this upstream run; triggering", metadata: [
                    "pipeline": "\(downstream.name)", "upstream": "\(pin.revision)", "error": "\(error)"])
            }
            // Fan-in: the other upstreams must agree with this one on the ancestors they share.
            do {
                guard let consistent = try await resolveFanIn(of: downstream, given: revisions) else {
                    logger.info("fan-in: waiting for the other upstreams to pass for the same ancestor runs", metadata: [
                        "pipeline": "\(downstream.name)", "upstream": "\(pin.revision)"])
                    continue
                }
                revisions = consistent
            } catch {
                logger.warning("cannot resolve the other upstreams of this trigger; the newest of each is used", metadata: [
                    "pipeline": "\(downstream.name)", "upstream": "\(pin.revision)", "error": "\(error)"])
            }
            let cause = TriggerCause.upstream(pipeline: run.pipelineName, counter: run.counter, stage: stage)
            await triggerOrDefer(DeferredTrigger(pipeline: downstream.name, cause: cause, revisions: revisions))
        }
    }

    /// Triggers what a stage completion should have triggered but did not (the scheduler stopped
    /// in between, or the downstream pipeline is new): for each dependency material, if the
    /// upstream's newest passed stage run is pinned by no recent downstream instance, the
    /// downstream runs for it. Called when a config is applied (at start and on every change).
    func catchUpDownstream() async {
        for downstream in config.pipelines {
            for material in downstream.dependencyMaterials where !material.ignoreForScheduling {
                do {
                    guard let pin = try await latestPassed(material.pipeline, stage: material.stage) else { continue }
                    let recent = try await store.history(of: downstream.name, limit: 20).runs
                    guard !recent.contains(where: { $0.materialRevisions[material.name] == pin.revision }),
                          let upstream = try await store.pipelineRun(pin.pipeline, counter: pin.counter) else { continue }
                    logger.info("catching up a downstream trigger", metadata: ["pipeline": "\(downstream.name)", "upstream": "\(pin.revision)"])
                    await triggerDownstream(of: upstream, stage: material.stage)
                } catch {
                    logger.warning("cannot check a dependency material", metadata: ["pipeline": "\(downstream.name)", "error": "\(error)"])
                }
            }
        }
    }

    private func triggerOrDefer(_ request: DeferredTrigger) async {
        do {
            // A stored trigger the catch-up pass (or an earlier retry) has run already is done.
            let pins = Set(request.revisions.values.filter { DependencyPin(revision: $0) != nil })
            if request.id != nil, !pins.isEmpty,
               try await store.history(of: request.pipeline, limit: 20).runs.contains(where: { pins.isSubset(of: Set($0.materialRevisions.values)) }) {
                await forget(request)
                return
            }
            let triggered = try await trigger(request.pipeline, cause: request.cause, revisions: request.revisions)
            logger.info("downstream pipeline triggered", metadata: ["pipeline": "\(request.pipeline)/\(triggered.counter)", "cause": "\(request.cause)"])
            await forget(request)
        } catch let error as RequestError where error.code != .notFound {
            if !request.retried {
                logger.info("downstream trigger deferred", metadata: ["pipeline": "\(request.pipeline)", "reason": "\(error.description)"])
            }
            guard request.id == nil else { return }  // stored already: the next pass retries it
            do {
                _ = try await store.deferTrigger(request, at: Date())
            } catch {
                logger.error("deferred trigger not stored; it waits in memory only", metadata: ["pipeline": "\(request.pipeline)", "error": "\(error)"])
                var again = request
                again.retried = true
                deferredTriggers.append(again)
            }
        } catch {
            logger.error("downstream trigger failed", metadata: ["pipeline": "\(request.pipeline)", "error": "\(error)"])
            await forget(request)
        }
    }

    private func forget(_ request: DeferredTrigger) async {
        guard let id = request.id else { return }
        do { try await store.removeDeferredTrigger(id) } catch {
            logger.warning("deferred trigger not removed; it will be found done next time", metadata: ["id": "\(id)", "error": "\(error)"])
        }
    }

    /// Retries upstream triggers that found their pipeline locked (or the store busy): the
    /// stored ones, and any the store could not keep.
    func retryDeferredTriggers() async {
        var waiting = deferredTriggers
        deferredTriggers.removeAll()
        do {
            waiting += try await store.deferredTriggers()
        } catch {
            logger.warning("deferred triggers not read", metadata: ["error": "\(error)"])
        }
        for request in waiting { await triggerOrDefer(request) }
    }

    // MARK: Locks

    /// Why `definition` cannot start a new instance now (GoCD's `lock_behavior`), or nil:
    /// - `unlockWhenFinished` and `lockOnFailure`: while an instance is building;
    /// - `lockOnFailure` also after an instance failed or was cancelled, until a user unlocks
    ///   it (or a re-run of the stage passes).
    /// An instance waiting at a manual stage holds no lock.
    func lockHolder(of definition: PipelineDefinition) async throws -> String? {
        guard definition.lockBehavior != .none,
              let latest = try await store.history(of: definition.name, limit: 1).runs.first else { return nil }
        switch latest.state {
        case .pending, .building:
            return "instance \(latest.counter) is running (lock_behavior \(definition.lockBehavior.rawValue))"
        case .failed where definition.lockBehavior == .lockOnFailure, .cancelled where definition.lockBehavior == .lockOnFailure:
            if try await store.unlockedCounter(of: definition.name) == latest.counter { return nil }
            return "instance \(latest.counter) \(latest.state.rawValue) (lock_behavior lockOnFailure); unlock it or re-run the failed stage"
        default:
            return nil
        }
    }

    // MARK: Pause

    /// GoCD's pause: no new instance starts (by hand, by a push, by a poll or from upstream)
    /// until the pipeline is unpaused; running instances go on.
    func pause(_ name: String, user: String, reason: String) async throws {
        guard config.pipeline(named: name) != nil else { throw RequestError(code: .notFound, description: "no pipeline named '\(name)'") }
        guard try await store.pause(name, by: user, reason: reason, at: Date()) else {
            throw RequestError(code: .conflict, description: "pipeline '\(name)' is already paused")
        }
        logger.info("pipeline paused", metadata: ["pipeline": "\(name)", "by": "\(user)"])
    }

    func unpause(_ name: String) async throws {
        guard config.pipeline(named: name) != nil else { throw RequestError(code: .notFound, description: "no pipeline named '\(name)'") }
        guard try await store.unpause(name) else { throw RequestError(code: .conflict, description: "pipeline '\(name)' is not paused") }
        logger.info("pipeline unpaused", metadata: ["pipeline": "\(name)"])
    }

    /// GoCD's "unlock": releases the lock a failed `lockOnFailure` instance holds.
    func unlock(_ name: String) async throws {
        guard let definition = config.pipeline(named: name) else {
            throw RequestError(code: .notFound, description: "no pipeline named '\(name)'")
        }
        guard definition.lockBehavior != .none, let latest = try await store.history(of: name, limit: 1).runs.first,
              let holder = try await lockHolder(of: definition) else {
            throw RequestError(code: .conflict, description: "pipeline '\(name)' is not locked")
        }
        guard latest.isCompleted else {
            throw RequestError(code: .conflict, description: "pipeline '\(name)' cannot be unlocked: \(holder)")
        }
        try await store.recordUnlock(of: name, counter: latest.counter)
        logger.info("pipeline unlocked", metadata: ["pipeline": "\(name)", "counter": "\(latest.counter)"])
    }
}
