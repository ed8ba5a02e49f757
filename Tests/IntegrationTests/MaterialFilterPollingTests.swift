import Foundation
import Testing

/// Material filters applied by polling: a commit whose files are all ignored (or none included)
/// starts nothing; the next commit that touches a file that counts starts the pipeline.
@Suite(.serialized, .timeLimit(.minutes(3))) struct MaterialFilterPollingTests {
    @Test func ignoredCommitsStartNothingAndACountingCommitStartsTheRun() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["src/main.c": "int main(){}", "docs/guide.md": "v1"])
            func pipeline(_ name: String, filter: String) -> String {
                """
                  \(name):
                    materials:
                      src: {git: "\(repository.url)", branch: main, \(filter)}
                    stages:
                      - build: {jobs: {build: {tasks: [{exec: {command: /bin/true}}]}}}
                """
            }
            try cluster.writeConfig("filters.gocd.yaml", "format_version: 10\npipelines:\n"
                + pipeline("ignores-docs", filter: #"ignore: ["docs/**", "*.md"]"#) + "\n"
                + pipeline("includes-src", filter: #"includes: ["src/**"]"#) + "\n"
                + pipeline("inverted", filter: #"ignore: ["src/**"], invert_filter: true"#) + "\n"
                + pipeline("unfiltered", filter: "auto_update: true") + "\n")
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1", slots: 4))
            let names = ["ignores-docs", "includes-src", "inverted", "unfiltered"]
            let api = cluster.api
            let counts: @Sendable () async throws -> [Int] = {
                var counts: [Int] = []
                for name in names { counts.append(try await api.history(name).count) }
                return counts
            }
            // The first poll starts each once (nothing ran yet).
            try await eventually(30, "a first run of each") { try await counts() == [1, 1, 1, 1] }

            // Only documentation: the unfiltered pipeline runs, the filtered ones do not.
            try repository.commit(["docs/guide.md": "v2", "NOTES.md": "n"])
            try await eventually(30, "the unfiltered pipeline's second run") { try await counts()[3] == 2 }
            try await Task.sleep(for: .seconds(3))  // three more polls
            #expect(try await counts() == [1, 1, 1, 2], "a docs-only commit started a filtered pipeline")

            // A source file: every pipeline runs, on the newest commit (the docs commit included).
            let head = try repository.commit(["src/main.c": "int main(){return 0;}"])
            try await eventually(30, "every pipeline's next run") { try await counts() == [2, 2, 2, 3] }
            for name in names {
                let newest = try #require(try await cluster.api.history(name).first)
                #expect((newest["material_revisions"] as? [String: String])?["src"] == head, "\(name): \(newest)")
            }
        }
    }
}
