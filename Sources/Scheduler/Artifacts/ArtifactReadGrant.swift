import Shared

/// What a job's artifact token may read: one `fetch` task's source, resolved to the job run that
/// published it (``FetchResolver``). The folder or file `source` and everything under it, and the
/// listing of that job run's artifacts (which names files, not their contents).
struct ArtifactReadGrant: Sendable, Equatable, CustomStringConvertible {
    var locator: ArtifactLocator
    /// The source's path segments under the job run's artifact root; empty for all of it.
    var source: [String]

    init(locator: ArtifactLocator, source: String) {
        self.locator = locator
        self.source = source.split(separator: "/").map(String.init).filter { $0 != "." }
    }

    /// Whether a read of `path` (segments) under `target`, or of its listing (`path` nil), is
    /// within this grant.
    func allows(_ target: ArtifactLocator, path: [String]?) -> Bool {
        guard target == locator else { return false }
        guard let path else { return true }
        return path.count >= source.count && Array(path.prefix(source.count)) == source
    }

    var description: String { "\(locator)/\(source.joined(separator: "/"))" }

    /// The artifact a `/go/files/…` path names: its job run's locator, and its path segments (nil
    /// for the job run's `.json` listing); nil if the path names neither.
    static func target(ofPath path: String) -> (locator: ArtifactLocator, path: [String]?)? {
        let segments = path.split(separator: "/").map(String.init)
        guard segments.count >= 7, segments[0] == "go", segments[1] == "files",
              let counter = Int(segments[3]), let stageCounter = Int(segments[5]) else { return nil }
        var job = segments[6]
        let rest = Array(segments.dropFirst(7))
        if rest.isEmpty {
            guard job.hasSuffix(".json") else { return nil }
            job = String(job.dropLast(5))
            return (ArtifactLocator(pipeline: segments[2], pipelineCounter: counter, stage: segments[4], stageCounter: stageCounter, job: job), nil)
        }
        return (ArtifactLocator(pipeline: segments[2], pipelineCounter: counter, stage: segments[4], stageCounter: stageCounter, job: job), rest)
    }
}

extension SchedulerEngine {
    /// What the current attempt of the job run at `locator` may read with its artifact token: the
    /// sources of its `fetch` tasks, resolved as its message resolves them. Empty if the job run
    /// does not exist or the config no longer has it.
    func artifactReadGrants(of locator: ArtifactLocator) async -> [ArtifactReadGrant] {
        guard let run = try? await queries.pipelineRun(locator.pipeline, counter: locator.pipelineCounter),
              let stage = run.stageRun(named: locator.stage, counter: locator.stageCounter),
              let job = stage.jobs.first(where: { ArtifactLocator.jobName($0.name, runIndex: $0.runIndex, runCount: $0.runCount) == locator.job })
        else { return [] }
        let id = JobRunID(pipeline: run.pipelineName, pipelineCounter: run.counter, stage: stage.name, stageCounter: stage.counter,
                          job: job.name, runIndex: job.runIndex)
        guard let message = await dispatcher.fullMessage(of: JobAttempt(jobRunID: id, attempt: job.attempt), run: run, config: config) else { return [] }
        return message.tasks.compactMap { task -> ArtifactReadGrant? in
            guard case .fetch(let fetch) = task, let source = fetch.resolved else { return nil }
            return ArtifactReadGrant(locator: source, source: fetch.source)
        }
    }
}
