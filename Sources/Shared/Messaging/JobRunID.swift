/// Names one job run across its attempts: `pipeline/counter/stage/stageCounter/job/runIndex`.
/// GoCD names cannot contain `/`, so the text form parses back unambiguously.
public struct JobRunID: Sendable, Hashable, Codable, CustomStringConvertible {
    public var pipeline: String
    public var pipelineCounter: Int
    public var stage: String
    public var stageCounter: Int
    public var job: String
    public var runIndex: Int

    public init(pipeline: String, pipelineCounter: Int, stage: String, stageCounter: Int, job: String, runIndex: Int) {
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

    public var description: String { "\(pipeline)/\(pipelineCounter)/\(stage)/\(stageCounter)/\(job)/\(runIndex)" }
}
