import Foundation
import Shared

/// The `transitions.event` text of an event: exactly what ``JSONColumn`` writes (sorted keys),
/// but written directly for the events every job produces, three per job: Foundation's encoder
/// was 4 % of the scheduler's CPU under load, most of it for these. Other events go through it.
enum TransitionText {
    static func of(_ event: PipelineEvent) throws -> String {
        switch event {
        case .jobAccepted(let job, let attempt, let agent):
            #"{"jobAccepted":{"agent":"# + string(agent) + #","attempt":"# + String(attempt) + #","job":"# + key(job) + "}}"
        case .jobStarted(let job, let attempt, let agent):
            #"{"jobStarted":{"# + (agent.map { #""agent":"# + string($0) + "," } ?? "") + #""attempt":"# + String(attempt) + #","job":"# + key(job) + "}}"
        case .jobFinished(let job, let attempt, let result, let agent):
            #"{"jobFinished":{"# + (agent.map { #""agent":"# + string($0) + "," } ?? "") + #""attempt":"# + String(attempt) + #","job":"# + key(job) + #","result":"# + string(result.rawValue) + "}}"
        default:
            try JSONColumn.encode(event)
        }
    }

    private static func key(_ key: JobKey) -> String {
        #"{"job":"# + string(key.job) + #","runIndex":"# + String(key.runIndex) + #","stage":"# + string(key.stage)
            + #","stageCounter":"# + String(key.stageCounter) + "}"
    }

    private static func string(_ text: String) -> String { JSONText.quoted(text) }
}
