import Foundation
import Testing

/// The dashboard: its pages over HTTP, and a real browser (headless Chromium driven by Selenium)
/// that triggers a pipeline, watches its stages turn green, presses play and reads a console.
@Suite(.serialized, .timeLimit(.minutes(4))) struct DashboardTests {
    private func config(_ repository: GitRepository) -> String {
        """
        format_version: 10
        pipelines:
          web:
            group: website
            environment_variables: {GREETING: hello}
            materials:
              site: {git: "\(repository.url)", branch: main, auto_update: false}
            stages:
              - build:
                  jobs:
                    compile:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo $GREETING from the browser test; sleep 1"]}
              - deploy:
                  approval: manual
                  tasks:
                    - exec: {command: /bin/echo, arguments: [deployed]}
        """
    }

    @Test func aBrowserTriggersWatchesApprovesAndReadsTheConsole() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["index.html": "<h1>hi</h1>\n"], message: "Add the home page")
            try cluster.writeConfig("web.gocd.yaml", config(repository))
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "web-worker"))
            let screenshots = TestBroker.projectRoot.appendingPathComponent(".build/screenshots")
            try? FileManager.default.removeItem(at: screenshots)
            let result = try runProcess(URL(fileURLWithPath: "/usr/bin/python3"), [
                TestBroker.projectRoot.appendingPathComponent("Tests/Browser/dashboard_test.py").path,
                "http://127.0.0.1:\(cluster.port)", screenshots.path, "web", "hello from the browser test", "Add the home page",
            ])
            #expect(result.status == 0, "\(result.standardOutput)\n\(result.standardError)")
            for name in ["01-dashboard", "02-build-passed", "03-awaiting-approval", "04-deployed", "05-instance", "06-job", "07-agents", "08-queues",
                         "09-triggered-with-options"] {
                let png = try? Data(contentsOf: screenshots.appendingPathComponent("\(name).png"))
                #expect(png?.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]), "screenshot \(name).png")
            }
            let run = try await cluster.api.instance("web", 1)
            #expect(run?["state"] as? String == "passed", "the browser's clicks ran the pipeline to the end")
            #expect(run?.stage("deploy")?["approved_by"] as? String == "anonymous")
            // Jobs show their agent by name and how long they took, as GoCD does.
            let page = try await cluster.api.get("/pipelines/web/1").text
            #expect(page.contains(">web-worker</td>") && page.contains("<th>Duration</th>") && page.contains("took ") && (page.contains(" ago") || page.contains("just now")), "\(page)")
            // "Trigger with options": the browser answered the prompt with GREETING=bonjour.
            try await eventually(60, "instance 2's build to pass") {
                try await cluster.api.instance("web", 2)?.stage("build")?["state"] as? String == "passed"
            }
            #expect(try await cluster.api.console("web", 2, "build", "compile").contains("bonjour from the browser test"))
        }
    }

    @Test func pagesRenderRefreshAndRefuseClearly() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["index.html": "<h1>hi</h1>\n"], message: "First <commit> & more")
            try cluster.writeConfig("web.gocd.yaml", config(repository))
            let tokens = cluster.root.appendingPathComponent("tokens.yaml")
            try "tokens:\n  - {name: vic, role: viewer, token: viewer-token-0123456789}\n".write(to: tokens, atomically: true, encoding: .utf8)
            try await cluster.startScheduler(["--tokens-file", tokens.path])
            let api = cluster.api
            let viewer = ["Authorization": "Bearer viewer-token-0123456789"]
            let anonymous = try await api.get("/")
            #expect(anonymous.text.contains("Sign in"), "an anonymous visitor is sent to the sign-in page")
            let home = try await api.request("GET", "/", headers: viewer)
            #expect(home.status == 200 && home.text.contains("data-pipeline=\"web\"") && home.text.contains("never run"))
            let fragment = try await api.request("GET", "/?fragment=1", headers: viewer)
            #expect(fragment.status == 200 && !fragment.text.contains("<html") && fragment.text.contains("data-pipeline=\"web\""))
            let missing = try await api.request("GET", "/pipelines/web/9", headers: viewer)
            #expect(missing.status == 404 && missing.text.contains("no instance web/9"))
            let login = try await api.request("POST", "/login", data: Data("token=wrong".utf8),
                                              headers: ["Content-Type": "application/x-www-form-urlencoded"])
            #expect(login.status == 401)
            // A viewer cannot press buttons that change things.
            #expect(try await api.request("POST", "/go/api/pipelines/web/schedule", headers: viewer).status == 403)
            #expect(try await api.request("POST", "/go/api/pipelines/web/pause", headers: viewer).status == 403)
        }
    }

    @Test func pauseStopsNewInstancesUntilUnpaused() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["index.html": "x\n"])
            try cluster.writeConfig("web.gocd.yaml", config(repository))
            try await cluster.startScheduler()
            let pause = try await cluster.api.post("/go/api/pipelines/web/pause", body: #"{"pause_cause": "release freeze"}"#)
            #expect(pause.status == 200, "\(pause.text)")
            #expect(try await cluster.api.post("/go/api/pipelines/web/pause").status == 409)
            let refused = try await cluster.api.post("/go/api/pipelines/web/schedule")
            #expect(refused.status == 409 && refused.text.contains("release freeze"), "\(refused.text)")
            #expect(try await cluster.api.get("/").text.contains("paused by anonymous: release freeze"))
            #expect(try await cluster.api.post("/go/api/pipelines/web/unpause").status == 200)
            #expect(try await cluster.api.post("/go/api/pipelines/web/unpause").status == 409)
            #expect(try await cluster.api.post("/go/api/pipelines/nope/pause").status == 404)
            #expect(try await cluster.api.trigger("web") == 1)
            // The history page: the instance, a duration chart per stage, paging.
            try await eventually(30, "web/1 to start") { try await cluster.api.instance("web", 1)?["state"] as? String != "pending" }
            let history = try await cluster.api.get("/pipelines/web").text
            #expect(history.contains("data-trend-chart") && history.contains("<svg") && history.contains("1 instance") && history.contains("page 1 of 1"),
                    "\(history)")
            #expect(try await cluster.api.get("/pipelines/web?page=2").text.contains("no instance on this page"))
            #expect(try await cluster.api.get("/pipelines/nope").status == 404)
        }
    }
}
