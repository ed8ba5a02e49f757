import Shared

/// Resolves each `fetch` task of a job to the exact job run it takes artifacts from, following
/// GoCD's ancestor path (`grandparent/parent`) through the dependency pins of each instance, so
/// that a fetch never takes "the latest". A fetch that cannot be resolved carries the reason,
/// which the worker prints when it fails the task.
struct FetchResolver: Sendable {
    let runs: any PipelineRunLookup

    /// Why a fetch cannot be resolved.
    struct Refusal: Error, CustomStringConvertible { let description: String }

    /// `tasks` with every `fetch` resolved (or given its reason).
    func resolve(_ tasks: [TaskDefinition], run: PipelineRun, stage: String) async -> [TaskDefinition] {
        var resolved = tasks
        for (index, task) in tasks.enumerated() {
            guard case .fetch(var fetch) = task else { continue }
            switch await locate(fetch, from: run, stage: stage) {
            case .success(let locator): fetch.resolved = locator
            case .failure(let reason): fetch.unresolvedReason = reason.description
            }
            resolved[index] = .fetch(fetch)
        }
        return resolved
    }

    /// The job run that published the artifact `fetch` names, seen from stage `current` of `run`.
    func locate(_ fetch: FetchTask, from run: PipelineRun, stage current: String) async -> Result<ArtifactLocator, Refusal> {
        var path = fetch.pipelinePath
        if path.count == 1, path[0].lowercased() == run.pipelineName.lowercased() { path = [] }
        var source = run
        for name in path.reversed() {
            guard let pin = source.materialRevisions.values.compactMap(DependencyPin.init(revision:))
                .first(where: { $0.pipeline.lowercased() == name.lowercased() }) else {
                return .failure(Refusal(description:
                    "\(source.pipelineName)/\(source.counter) has no dependency on '\(name)' (fetch path '\(fetch.pipeline ?? "")')"))
            }
            let next: PipelineRun?
            do { next = try await runs.pipelineRun(pin.pipeline, counter: pin.counter) } catch {
                return .failure(Refusal(description: "cannot load \(pin.pipeline)/\(pin.counter): \(error)"))
            }
            guard let next else { return .failure(Refusal(description: "instance \(pin.pipeline)/\(pin.counter) no longer exists")) }
            source = next
        }
        if path.isEmpty && fetch.stage == current {
            return .failure(Refusal(description: "a fetch cannot take artifacts from its own stage '\(current)'"))
        }
        guard let stage = source.stages.filter({ $0.name == fetch.stage }).max(by: { $0.counter < $1.counter }) else {
            return .failure(Refusal(description: "\(source.pipelineName)/\(source.counter) has no stage '\(fetch.stage)'"))
        }
        guard let job = stage.jobs.first(where: {
            $0.name == fetch.job || ArtifactLocator.jobName($0.name, runIndex: $0.runIndex, runCount: $0.runCount) == fetch.job
        }) else {
            return .failure(Refusal(description: "stage \(source.pipelineName)/\(source.counter)/\(stage.name)/\(stage.counter) has no job '\(fetch.job)'"))
        }
        // A job copied into a re-run published its artifacts in the stage run it really ran in.
        return .success(ArtifactLocator(pipeline: source.pipelineName, pipelineCounter: source.counter, stage: stage.name,
                                        stageCounter: job.originalStageCounter ?? stage.counter, job: fetch.job))
    }
}
