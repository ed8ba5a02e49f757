import Foundation
import Testing

/// GoCD's `timer`: a pipeline triggered on a Quartz schedule, by "timer"; with `only_on_changes`,
/// only when a material moved since its newest instance.
@Suite(.serialized, .timeLimit(.minutes(3))) struct TimerTests {
    @Test func timersTriggerOnTheirScheduleAndOnlyOnChangesWaitsForACommit() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["a.txt": "a"])
            func pipeline(_ name: String, timer: String) -> String {
                """
                  \(name):
                    timer: \(timer)
                    materials:
                      src: {git: "\(repository.url)", branch: main, auto_update: false}
                    stages:
                      - run:
                          jobs:
                            run:
                              tasks:
                                - exec: {command: /bin/true}
                """
            }
            try cluster.writeConfig("timers.gocd.yaml", "format_version: 10\npipelines:\n"
                + pipeline("every-two-seconds", timer: #"{spec: "*/2 * * * * ?"}"#) + "\n"
                + pipeline("on-changes", timer: #"{spec: "* * * * * ?", only_on_changes: true}"#) + "\n")
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1", slots: 2))

            // The plain timer fires every two seconds, whatever the materials do.
            try await eventually(30, "three timer runs of every-two-seconds") {
                try await cluster.api.history("every-two-seconds").count >= 3
            }
            let runs = try await cluster.api.history("every-two-seconds")
            #expect(runs.allSatisfy { $0["triggered_by"] as? String == "timer" }, "\(runs.map { $0["triggered_by"] ?? "-" })")

            // only_on_changes: a first run (it never ran), then nothing while the repository is still.
            try await eventually(30, "the first run of on-changes") { try await cluster.api.history("on-changes").count == 1 }
            try await Task.sleep(for: .seconds(4))
            #expect(try await cluster.api.history("on-changes").count == 1, "fired again without a change")
            // A commit: the next firing runs it, on the new revision; then it is still again.
            let commit = try repository.commit(["b.txt": "b"])
            try await eventually(30, "a second run of on-changes after the commit") {
                try await cluster.api.history("on-changes").count == 2
            }
            let second = try #require(try await cluster.api.history("on-changes").first)
            #expect((second["material_revisions"] as? [String: String])?["src"] == commit, "\(second)")
            try await Task.sleep(for: .seconds(3))
            #expect(try await cluster.api.history("on-changes").count == 2, "fired again without a change")
        }
    }
}
