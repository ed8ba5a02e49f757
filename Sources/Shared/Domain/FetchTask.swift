/// Downloads an artifact published by an earlier stage of this pipeline or by an ancestor
/// pipeline (GoCD's `fetch` task, artifact origin `gocd`).
public struct FetchTask: Sendable, Equatable, Codable {
    /// GoCD's path to the pipeline that published the artifact: `nil` for this pipeline,
    /// `upstream` for a direct upstream, `grandparent/parent` for an ancestor further up (the
    /// first element published the artifact, the last one is this pipeline's direct upstream).
    public var pipeline: String?
    /// The stage that published the artifact.
    public var stage: String
    /// The job that published the artifact.
    public var job: String
    /// The artifact path, relative to the job's artifact root.
    public var source: String
    /// Where to put it, relative to the pipeline's work directory; empty means the work directory.
    public var destination: String
    /// Whether ``source`` names a file (otherwise a directory).
    public var isFile: Bool
    /// When the task runs, given how the earlier tasks went.
    public var runIf: RunIf
    /// What to run if the task is cancelled while running.
    public var onCancel: OnCancelTask?
    /// Filled in by the scheduler when it dispatches the job: the exact job run the artifact
    /// comes from (the instance the dependency chain pins, never "the latest").
    public var resolved: ArtifactLocator?
    /// Filled in by the scheduler instead of ``resolved`` when the source cannot be found; the
    /// worker fails the task with it.
    public var unresolvedReason: String?

    /// Creates a fetch task.
    public init(
        pipeline: String? = nil,
        stage: String,
        job: String,
        source: String,
        destination: String = "",
        isFile: Bool = false,
        runIf: RunIf = .passed,
        onCancel: OnCancelTask? = nil
    ) {
        self.pipeline = pipeline
        self.stage = stage
        self.job = job
        self.source = source
        self.destination = destination
        self.isFile = isFile
        self.runIf = runIf
        self.onCancel = onCancel
    }

    /// ``pipeline`` split on `/`: empty for this pipeline, otherwise from the pipeline that
    /// published the artifact down to this pipeline's direct upstream.
    public var pipelinePath: [String] {
        guard let pipeline else { return [] }
        return pipeline.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}
