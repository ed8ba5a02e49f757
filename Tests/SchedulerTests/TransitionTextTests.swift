import Foundation
import Shared
import Testing

@testable import Scheduler

/// The transitions log's text, written directly for job events, is byte for byte what
/// Foundation's encoder writes (and reads back as the same event).
struct TransitionTextTests {
    /// Names with every character JSON escapes, and some that it does not.
    static let names: [String] = [
        "compile", "", "a/b", #"quote " and \ backslash"#, "tab\tnew\nline\rcr", "\u{08}\u{0C}\u{01}\u{1F}\u{7F}",
        "déploiement 🚀", "ℹ︎ e\u{301}", String((0..<32).map { Character(UnicodeScalar(UInt8($0))) }),
    ]

    @Test(arguments: names)
    func jobEventsAreWrittenAsFoundationWritesThem(_ name: String) throws {
        let key = JobKey(stage: name, stageCounter: 3, job: name + "-job", runIndex: 12)
        var events: [PipelineEvent] = [
            .jobAccepted(job: key, attempt: 2, agent: name), .jobStarted(job: key, attempt: 1),
            .approve(stage: name, user: name), .cancel(user: name), .created,
        ]
        events += JobResult.allCases.map { .jobFinished(job: key, attempt: 7, result: $0) }
        for event in events {
            let text = try TransitionText.of(event)
            #expect(text == (try JSONColumn.encode(event)), "\(event)")
            #expect(try JSONColumn.decode(PipelineEvent.self, from: text) == event)
        }
    }
}
