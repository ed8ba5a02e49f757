/// The pin of a dependency material: GoCD's revision `pipeline/counter/stage/stageCounter`, the
/// exact upstream stage run an instance was built from.
struct DependencyPin: Sendable, Equatable {
    var pipeline: String
    var counter: Int
    var stage: String
    var stageCounter: Int

    init(pipeline: String, counter: Int, stage: String, stageCounter: Int) {
        self.pipeline = pipeline
        self.counter = counter
        self.stage = stage
        self.stageCounter = stageCounter
    }

    /// Parses a revision; git revisions (hex, no `/`) give nil.
    init?(revision: String) {
        let parts = revision.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, let counter = Int(parts[1]), let stageCounter = Int(parts[3]) else { return nil }
        self.init(pipeline: parts[0], counter: counter, stage: parts[2], stageCounter: stageCounter)
    }

    var revision: String { "\(pipeline)/\(counter)/\(stage)/\(stageCounter)" }
}
