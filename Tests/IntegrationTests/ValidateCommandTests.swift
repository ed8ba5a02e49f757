import Foundation
import Testing

/// `relevo-scheduler validate` as a user runs it: the real binary on real files.
@Suite struct ValidateCommandTests {
    private func configDirectory(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-validate-\(UUID().uuidString.prefix(8))")
        for (name, text) in files {
            let url = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return directory
    }

    @Test func theShippedExamplesAreValid() async throws {
        let result = try await runProcessAsync(try builtProduct("relevo-scheduler"),
                                    ["validate", TestBroker.projectRoot.appendingPathComponent("config/pipelines").path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("hello-relevo"))
        #expect(result.standardError.isEmpty)
    }

    @Test func errorsNameFileLineAndColumnWhileGoodPipelinesStillLoad() async throws {
        let directory = try configDirectory([
            "good.gocd.yaml": """
            format_version: 10
            pipelines:
              good:
                materials:
                  src:
                    git: file:///tmp/x.git
                stages:
                  - build:
                      tasks:
                        - exec: {command: /bin/true}
            """,
            "team/bad.gocd.yml": """
            format_version: 10
            pipelines:
              bad:
                materials:
                  src:
                    git: file:///tmp/x.git
                stages:
                  - build:
                      jobs:
                        j:
                          tasks:
                            - exec: {command: /bin/true, run_iff: any}
            """,
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await runProcessAsync(try builtProduct("relevo-scheduler"), ["validate", directory.path])
        #expect(result.status == 1)
        #expect(result.standardError.contains("team/bad.gocd.yml:12:46: unknown key 'run_iff'"), "\(result.standardError)")
        #expect(result.standardError.contains("1 error; 1 pipelines are valid"))
        #expect(result.standardOutput.contains("good: build"))

        let json = try await runProcessAsync(try builtProduct("relevo-scheduler"), ["validate", "--json", directory.path])
        let model = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
        let pipelines = model?["pipelines"] as? [[String: Any]]
        #expect(pipelines?.compactMap { $0["name"] as? String } == ["good"])
        #expect((model?["errors"] as? [Any])?.count == 1)
    }
}
