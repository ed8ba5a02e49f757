/// A pipeline that parsed cleanly, with the positions of what still has to be checked against
/// the other pipelines (upstreams, fetch sources).
struct ParsedPipeline {
    /// The pipeline, complete but for cross-pipeline checks and its environment.
    var definition: PipelineDefinition
    /// Its dependency materials and where each is written.
    var dependencies: [DependencyReference]
    /// Its fetch tasks and where each is written.
    var fetches: [FetchReference]
}

/// A dependency material and where it is written.
struct DependencyReference {
    /// The material as parsed.
    var material: DependencyMaterial
    /// Where its name is written.
    var location: ConfigLocation
}

/// A fetch task, its place in the pipeline and where it is written.
struct FetchReference {
    /// Index of the stage in the pipeline.
    var stageIndex: Int
    /// Index of the job in the stage.
    var jobIndex: Int
    /// Index of the task in the job.
    var taskIndex: Int
    /// The task as parsed.
    var task: FetchTask
    /// Where the task is written.
    var location: ConfigLocation
}

/// Collects what the parsers of one pipeline share: its errors and its fetch tasks.
final class PipelineContext {
    /// The pipeline's name.
    let pipeline: String
    /// The pipeline's errors.
    let log: ConfigIssueLog
    /// Fetch tasks found so far.
    var fetches: [FetchReference] = []

    /// A context whose errors go to `log`.
    init(pipeline: String, log: ConfigIssueLog) {
        self.pipeline = pipeline
        self.log = log
    }
}
