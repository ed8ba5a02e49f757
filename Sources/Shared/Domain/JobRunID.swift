/// Names one job run across its attempts: which pipeline run, which stage run, which job, which
/// of its `run_instances` copies. The one identifier of a job run in the whole package: in job
/// messages, worker events, the scheduler's store and the REST API.
///
/// Its text form is `pipeline/counter/stage/stageCounter/job/runIndex`; GoCD names cannot
/// contain `/`, so it parses back unambiguously. In JSON it is that text (a single string), so a
/// malformed id is refused by decoding, with the reason, like any other malformed field.
public struct JobRunID: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The pipeline's name.
    public var pipeline: String
    /// The pipeline run's counter.
    public var pipelineCounter: Int
    /// The stage's name.
    public var stage: String
    /// The stage run's counter.
    public var stageCounter: Int
    /// The job's name as configured.
    public var job: String
    /// Which copy, from 1 (GoCD's `GO_JOB_RUN_INDEX`); 1 for a job without `run_instances`.
    public var runIndex: Int

    public init(pipeline: String, pipelineCounter: Int, stage: String, stageCounter: Int = 1, job: String, runIndex: Int = 1) {
        self.pipeline = pipeline
        self.pipelineCounter = pipelineCounter
        self.stage = stage
        self.stageCounter = stageCounter
        self.job = job
        self.runIndex = runIndex
    }

    /// Parses the text form; nil if it is not one.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, let counter = Int(parts[1]), let stageCounter = Int(parts[3]), let runIndex = Int(parts[5]),
              !parts[0].isEmpty, !parts[2].isEmpty, !parts[4].isEmpty else { return nil }
        self.init(pipeline: parts[0], pipelineCounter: counter, stage: parts[2], stageCounter: stageCounter, job: parts[4], runIndex: runIndex)
    }

    /// `pipeline/counter/stage/stageCounter/job/runIndex`.
    public var description: String { "\(pipeline)/\(pipelineCounter)/\(stage)/\(stageCounter)/\(job)/\(runIndex)" }

    /// GoCD's job locator, `pipeline/counter/stage/stageCounter/job`, with `-runInstance-<index>`
    /// for a copy of a job that runs `runCount` > 1 copies.
    public func locator(runCount: Int) -> String {
        "\(pipeline)/\(pipelineCounter)/\(stage)/\(stageCounter)/\(ArtifactLocator.jobName(job, runIndex: runIndex, runCount: runCount))"
    }

    /// Where this job run's artifacts are stored.
    public func artifactLocator(runCount: Int) -> ArtifactLocator {
        ArtifactLocator(pipeline: pipeline, pipelineCounter: pipelineCounter, stage: stage, stageCounter: stageCounter,
                        job: ArtifactLocator.jobName(job, runIndex: runIndex, runCount: runCount))
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = JobRunID(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription:
                "'\(text)' is not a job run id (pipeline/counter/stage/stageCounter/job/runIndex)")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
