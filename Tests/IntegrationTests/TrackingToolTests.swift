import Foundation
import Testing

/// GoCD's `tracking_tool`: references in commit messages link to the tracker, on the instance
/// page and in the instance's API document.
@Suite(.serialized, .timeLimit(.minutes(2))) struct TrackingToolTests {
    @Test func referencesInCommitMessagesBecomeLinks() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["a.txt": "a"], message: "Fix #42 and #7 <b>now</b>")
            try cluster.writeConfig("tracked.gocd.yaml", """
            format_version: 10
            pipelines:
              tracked:
                tracking_tool:
                  link: "https://tracker.example/issues/${ID}"
                  regex: "#(\\\\d+)"
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build: {jobs: {build: {tasks: [{exec: {command: /bin/true}}]}}}
            """)
            try await cluster.startScheduler()
            #expect(try await cluster.api.trigger("tracked") == 1)
            let page = try await cluster.api.get("/pipelines/tracked/1").text
            #expect(page.contains("Fix <a class=\"tracking\" href=\"https://tracker.example/issues/42\" rel=\"noopener noreferrer\">#42</a> and "
                                  + "<a class=\"tracking\" href=\"https://tracker.example/issues/7\" rel=\"noopener noreferrer\">#7</a> &lt;b&gt;now&lt;/b&gt;"),
                    "\(page)")
            let document = try await cluster.api.get("/go/api/pipelines/tracked/1").json()
            let modification = try #require((document["modifications"] as? [[String: Any]])?.first)
            #expect(modification["comment"] as? String == "Fix #42 and #7 <b>now</b>")
            let links = (modification["links"] as? [[String: String]]) ?? []
            #expect(links == [["text": "#42", "url": "https://tracker.example/issues/42"], ["text": "#7", "url": "https://tracker.example/issues/7"]])
        }
    }
}
