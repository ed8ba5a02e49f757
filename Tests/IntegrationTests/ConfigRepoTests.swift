import Foundation
import Testing

/// GoCD's config repositories (issue #16): pipelines as code in a git repository, added through
/// GoCD's API, then added, broken, fixed and removed by pushing; a broken push keeps the last
/// good definition running and shows the error with file, line and column.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ConfigRepoTests {
    static func pipeline(_ name: String, stage: String) -> String {
        """
        format_version: 10
        pipelines:
          \(name):
            group: as-code
            materials:
              src: {git: "file:///nonexistent", auto_update: false}
            stages:
              - \(stage):
                  fetch_materials: false
                  jobs:
                    only:
                      tasks:
                        - exec: {command: /bin/true}
        """
    }

    @Test func pipelinesComeAndGoByPushingAndABrokenPushKeepsTheLastGoodOne() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root, name: "pipelines-as-code")
            try repository.commit(["ci/app.gocd.yaml": Self.pipeline("app", stage: "build")], message: "app pipeline")
            try await cluster.startScheduler()
            let api = cluster.api
            @Sendable func stages(_ name: String) async throws -> [String]? {
                let dashboard = try await api.get("/go/api/dashboard").json()
                guard (dashboard["pipelines"] as? [[String: Any]] ?? []).contains(where: { $0["name"] as? String == name }) else { return nil }
                let runs = try await api.get("/go/api/admin/config_repos/code").json()
                return (runs["pipelines"] as? [String] ?? []).contains(name) ? try await Self.stageNames(api, name) : nil
            }

            // Added through GoCD's API: loaded at once.
            let body = #"{"id": "code", "plugin_id": "yaml.config.plugin", "material": {"type": "git", "attributes": {"url": "\#(repository.url)", "branch": "main"}}}"#
            let added = try await api.post("/go/api/admin/config_repos", body: body)
            #expect(added.status == 200, "\(added.text)")
            #expect(try await api.post("/go/api/admin/config_repos", body: body).status == 409, "the same id twice")
            try await eventually(20, "app from the config repository") { try await stages("app") == ["build"] }

            // A second pipeline by pushing.
            try repository.commit(["ci/lib.gocd.yaml": Self.pipeline("lib", stage: "compile")], message: "lib pipeline")
            try await eventually(20, "lib pushed") { try await stages("lib") == ["compile"] }

            // A broken push: app keeps its last good definition, the error names file, line and column.
            try repository.commit(["ci/app.gocd.yaml": Self.pipeline("app", stage: "test").replacingOccurrences(of: "exec:", with: "exek:")], message: "oops")
            try await eventually(20, "the error to show") {
                let repo = try await api.get("/go/api/admin/config_repos/code").json()
                return (repo["config_errors"] as? [String] ?? []).contains { $0.hasPrefix("code:ci/app.gocd.yaml:") && $0.contains("exek") }
            }
            #expect(try await stages("app") == ["build"], "the last good definition keeps running")
            #expect(try await api.get("/").text.contains("code:ci/app.gocd.yaml:"), "the dashboard shows the error")
            let listed = try await runProcessAsync(try builtProduct("relevo"), ["config-repos", "--server", "http://127.0.0.1:\(cluster.port)"])
            #expect(listed.status == 0 && listed.standardOutput.contains("code:ci/app.gocd.yaml:") && listed.standardOutput.contains("1 config errors"),
                    "the CLI shows it: \(listed)")
            #expect(try await api.post("/go/api/pipelines/app/schedule", body: RelevoCluster.pinnedSchedule).status == 202)

            // Fixed: the new definition.
            try repository.commit(["ci/app.gocd.yaml": Self.pipeline("app", stage: "test")], message: "fixed")
            try await eventually(20, "the fix") { try await stages("app") == ["test"] }
            let fixed = try await api.get("/go/api/admin/config_repos/code").json()
            let head = try repository.git(["rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect((fixed["config_errors"] as? [String])?.isEmpty == true && fixed["revision"] as? String == head, "\(fixed)")

            // Removed by pushing: lib goes.
            _ = try repository.git(["rm", "-q", "ci/lib.gocd.yaml"])
            _ = try repository.git(["commit", "-q", "-m", "no more lib"])
            try await eventually(20, "lib removed") { try await stages("lib") == nil }

            // The repository removed: its pipelines go; the history of app stays in the database.
            #expect(try await api.request("DELETE", "/go/api/admin/config_repos/code").status == 200)
            try await eventually(20, "app unloaded") { try await stages("app") == nil }
            #expect(try await api.request("DELETE", "/go/api/admin/config_repos/code").status == 404)
        }
    }

    static func stageNames(_ api: RelevoAPI, _ name: String) async throws -> [String] {
        let config = try await api.get("/go/api/admin/pipelines/\(name)").json()
        return (config["stages"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }
}
