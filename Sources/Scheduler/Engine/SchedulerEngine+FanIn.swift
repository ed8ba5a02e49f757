import Foundation
import Logging
import Shared

/// GoCD's fan-in: a pipeline with several dependency materials whose upstreams share an ancestor
/// (A → B, A → C, B + C → D) runs only on upstream runs that derive from the same run of that
/// ancestor. D never runs with B built from A/5 and C built from A/4: it waits until C has passed
/// for A/5 too (and never runs for an A whose C failed).
extension SchedulerEngine {
    /// The pipeline runs a run derives from through its dependency pins, itself included: run
    /// counter by lower-cased pipeline name. The nearest pin of a pipeline wins.
    func ancestry(of pipeline: String, counter: Int, memo: inout [String: [String: Int]], depth: Int = 0) async -> [String: Int] {
        let key = "\(pipeline.lowercased())/\(counter)"
        if let known = memo[key] { return known }
        var result = [pipeline.lowercased(): counter]
        if depth < 12, let run = try? await store.pipelineRun(pipeline, counter: counter) {
            for pin in run.materialRevisions.values.compactMap(DependencyPin.init(revision:)) {
                for (name, ancestor) in await ancestry(of: pin.pipeline, counter: pin.counter, memo: &memo, depth: depth + 1)
                where result[name] == nil {
                    result[name] = ancestor
                }
            }
        }
        memo[key] = result
        return result
    }

    /// The pipelines `pipeline` depends on in the config, directly or further up, itself included
    /// (lower-cased names).
    func configAncestors(of pipeline: String) -> Set<String> {
        var found: Set<String> = [pipeline.lowercased()]
        var frontier = [pipeline]
        while let next = frontier.popLast() {
            for material in config.pipeline(named: next)?.dependencyMaterials ?? [] where found.insert(material.pipeline.lowercased()).inserted {
                frontier.append(material.pipeline)
            }
        }
        return found
    }

    /// Whether two ancestries agree on every pipeline they share.
    static func consistent(_ one: [String: Int], _ other: [String: Int]) -> Bool {
        one.allSatisfy { name, counter in other[name].map { $0 == counter } ?? true }
    }

    /// The passed runs of `stage` of `pipeline`, newest first (at most `limit` instances looked at).
    func passedPins(_ pipeline: String, stage: String, limit: Int = 25) async throws -> [DependencyPin] {
        try await store.history(of: pipeline, limit: limit).runs.compactMap { run in
            run.stages.filter { $0.name == stage && $0.result == .passed }.max { $0.counter < $1.counter }
                .map { DependencyPin(pipeline: run.pipelineName, counter: run.counter, stage: stage, stageCounter: $0.counter) }
        }
    }

    /// Pins for `definition`'s dependency materials that `given` does not pin, such that all of
    /// them together (given ones included) agree on every ancestor they share: the newest such
    /// set, chosen material by material (later materials may make an earlier one take an older
    /// run). A material whose upstream never passed stays unpinned. Returns nil when the passed
    /// runs hold no consistent set yet (an upstream has not passed for that ancestor run).
    func resolveFanIn(of definition: PipelineDefinition, given: [String: String]) async throws -> [String: String]? {
        var memo: [String: [String: Int]] = [:]
        var fixed: [String: Int] = [:]
        for material in definition.dependencyMaterials {
            guard let revision = given[material.name], let pin = DependencyPin(revision: revision) else { continue }
            let ancestry = await ancestry(of: pin.pipeline, counter: pin.counter, memo: &memo)
            // Given pins are kept as given, even if they disagree with each other.
            for (name, counter) in ancestry where fixed[name] == nil { fixed[name] = counter }
        }
        var open: [(material: DependencyMaterial, candidates: [(pin: DependencyPin, ancestry: [String: Int])])] = []
        for material in definition.dependencyMaterials where given[material.name] == nil {
            var candidates: [(pin: DependencyPin, ancestry: [String: Int])] = []
            for pin in try await passedPins(material.pipeline, stage: material.stage) {
                candidates.append((pin, await ancestry(of: pin.pipeline, counter: pin.counter, memo: &memo)))
            }
            if candidates.isEmpty {
                // Never passed, but built from an ancestor the others share: it must pass first.
                let upstreams = configAncestors(of: material.pipeline)
                if fixed.keys.contains(where: { upstreams.contains($0) }) { return nil }
                logger.info("dependency material not pinned: its upstream stage never passed",
                            metadata: ["pipeline": "\(definition.name)", "upstream": "\(material.pipeline)/\(material.stage)"])
                continue
            }
            open.append((material, candidates))
        }
        // Depth first over the open materials, newest candidates first.
        func choose(_ index: Int, _ agreed: [String: Int]) -> [String: String]? {
            guard index < open.count else { return [:] }
            for candidate in open[index].candidates where Self.consistent(agreed, candidate.ancestry) {
                var next = agreed
                for (name, counter) in candidate.ancestry where next[name] == nil { next[name] = counter }
                if var rest = choose(index + 1, next) {
                    rest[open[index].material.name] = candidate.pin.revision
                    return rest
                }
            }
            return nil
        }
        guard let chosen = choose(0, fixed) else { return nil }
        return given.merging(chosen) { first, _ in first }
    }
}
