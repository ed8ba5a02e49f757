import Foundation
import Testing

/// API tokens with roles, per-stage approvers, and push webhooks, against a real scheduler.
@Suite(.serialized, .timeLimit(.minutes(3))) struct AuthAndWebhookTests {
    private let tokens = [
        "viewer": "viewer-token-0123456789",
        "operator": "operator-token-0123456789",
        "releaser": "releaser-token-0123456789",
        "admin": "admin-token-0123456789",
    ]

    private func writeTokens(_ cluster: RelevoCluster) throws -> String {
        let file = cluster.root.appendingPathComponent("tokens.yaml")
        try """
        tokens:
          - {name: vera, role: viewer, token: \(tokens["viewer"]!)}
          - {name: otto, role: operator, token: \(tokens["operator"]!)}
          - {name: rita, role: operator, groups: [release], token: \(tokens["releaser"]!)}
          - {name: ada, role: admin, token: \(tokens["admin"]!)}
        """.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    private func bearer(_ role: String) -> [String: String] { ["Authorization": "Bearer \(tokens[role]!)"] }

    @Test func tokensGateTheAPIByRoleAndApproversByName() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "auth\n"])
            try cluster.writeConfig("guarded.gocd.yaml", """
            format_version: 10
            pipelines:
              guarded:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      jobs:
                        build:
                          artifacts: [{build: {source: out.txt}}]
                          tasks:
                            - exec: {command: /bin/sh, arguments: ["-c", "echo guarded > out.txt"]}
                  - release:
                      approval: {type: manual, roles: [release]}
                      jobs:
                        release:
                          tasks:
                            - fetch: {stage: build, job: build, source: out.txt, is_file: yes}
                            - exec: {command: /bin/cat, arguments: [out.txt]}
            """)
            try await cluster.startScheduler(["--tokens-file", try writeTokens(cluster)])
            let api = cluster.api
            #expect(try await api.get("/go/api/v1/health").status == 200, "health stays open")
            let anonymous = try await api.get("/go/api/agents")
            #expect(anonymous.status == 401 && anonymous.text.contains("message"), "\(anonymous.text)")
            #expect(try await api.request("GET", "/go/api/agents", headers: ["Authorization": "Bearer not-a-token-at-all"]).status == 401)
            #expect(try await api.request("GET", "/go/api/agents", headers: bearer("viewer")).status == 200)
            let viewerTrigger = try await api.request("POST", "/go/api/pipelines/guarded/schedule", headers: bearer("viewer"))
            #expect(viewerTrigger.status == 403, "\(viewerTrigger.text)")

            // The worker registers through the broker; it reaches the scheduler only for artifacts.
            try await eventuallyAgent(cluster, token: tokens["admin"]!)
            let trigger = try await api.request("POST", "/go/api/pipelines/guarded/schedule", headers: bearer("operator"))
            #expect(trigger.status == 202, "\(trigger.text)")
            try await eventually(60, "guarded/1 to wait for approval") {
                let reply = try await api.request("GET", "/go/api/pipelines/guarded/1", headers: self.bearer("viewer"))
                return (try? reply.json()["state"] as? String) == "awaitingApproval"
            }
            let instance = try await api.request("GET", "/go/api/pipelines/guarded/1", headers: bearer("viewer")).json()
            #expect(instance["triggered_by"] as? String == "otto", "the trigger is recorded as otto's: \(instance)")

            // approval.roles [release]: otto (operator, no group) may not press play; rita may.
            let otto = try await api.request("POST", "/go/api/stages/guarded/1/release/run", headers: bearer("operator"))
            #expect(otto.status == 403 && otto.text.contains("may not run"), "\(otto.text)")
            let rita = try await api.request("POST", "/go/api/stages/guarded/1/release/run", headers: bearer("releaser"))
            #expect(rita.status == 202, "\(rita.text)")
            let release = try await api.request("GET", "/go/api/stages/guarded/1/release/1", headers: bearer("viewer")).json()
            #expect(release["approved_by"] as? String == "rita", "\(release)")
            try await eventually(60, "guarded/1 to finish") {
                let reply = try await api.request("GET", "/go/api/pipelines/guarded/1", headers: self.bearer("viewer"))
                let state = try? reply.json()["state"] as? String
                return state == "passed" || state == "failed"
            }
            let console = try await api.request("GET", "/go/files/guarded/1/release/1/release/cruise-output/console.log", headers: bearer("viewer")).text
            #expect(console.contains("guarded\n"), "the job fetched its artifact with its own token: \(console)")
            #expect(try await api.get("/go/files/guarded/1/build/1/build/out.txt").status == 401)

            // No token ever reaches the log.
            let log = cluster.scheduler?.log ?? ""
            for token in tokens.values { #expect(!log.contains(token)) }
        }
    }

    private func eventuallyAgent(_ cluster: RelevoCluster, token: String) async throws {
        let workDirectory = cluster.root.appendingPathComponent("agents/w1")
        let process = try RelevoProcess.start("relevo-worker", name: "w1", arguments: [
            "--broker-url", cluster.brokerURL, "--name", "w1", "--work-dir", workDirectory.path,
            "--server-url", "http://127.0.0.1:\(cluster.port)/go",
        ], logDirectory: cluster.root)
        cluster.adopt(process)
        try await eventually(60, "agent w1 to register") {
            let reply = try await cluster.api.request("GET", "/go/api/agents", headers: ["Authorization": "Bearer \(token)"])
            return reply.text.contains("\"w1\"")
        }
    }

    @Test func signedPushesStartTheirPipelinesAndBadSignaturesStartNothing() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "hooks\n"])
            try cluster.writeConfig("hooked.gocd.yaml", """
            format_version: 10
            pipelines:
              hooked:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      tasks:
                        - exec: {command: /bin/echo, arguments: [hooked]}
              elsewhere:
                materials:
                  src: {git: "\(repository.url)", branch: other, auto_update: false}
                stages:
                  - build:
                      tasks:
                        - exec: {command: /bin/echo, arguments: [other branch]}
            """)
            let secret = "webhook-secret-for-tests"
            try await cluster.startScheduler(["--webhook-secret", secret])
            try await cluster.startWorker(.init(name: "w1"))
            let api = cluster.api
            let payload = Data("""
            {"ref": "refs/heads/main", "repository": {"clone_url": "\(repository.url).git", "html_url": "https://example.com/x"}}
            """.utf8)

            let forged = try await api.request("POST", "/go/api/webhooks/github/notify", data: payload, headers: [
                "X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + String(repeating: "0", count: 64)])
            #expect(forged.status == 401 && forged.text.contains("signature"), "\(forged.text)")
            let unsigned = try await api.request("POST", "/go/api/webhooks/github/notify", data: payload, headers: ["X-GitHub-Event": "push"])
            #expect(unsigned.status == 401)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await api.history("hooked").isEmpty, "a refused push starts nothing")
            #expect((cluster.scheduler?.log ?? "").contains("webhook refused"))

            let signature = "sha256=" + hmacSHA256(key: secret, data: payload)
            let signed = try await api.request("POST", "/go/api/webhooks/github/notify", data: payload, headers: [
                "X-GitHub-Event": "push", "X-Hub-Signature-256": signature])
            #expect(signed.status == 202 && (try? signed.json()["pipelines"] as? [String]) == ["hooked/1"], "\(signed.text)")
            // The instance exists when the webhook is answered: the push started it (its material
            // is `auto_update: false`, so no poll could have). How fast is for the benchmark.
            #expect(try await api.instance("hooked", 1) != nil)
            #expect(try await api.history("elsewhere").isEmpty, "another branch is not started")
            try await api.waitFor("hooked", 1, states: ["passed"])

            // The same push again: nothing new to build.
            let again = try await api.request("POST", "/go/api/webhooks/github/notify", data: payload, headers: [
                "X-GitHub-Event": "push", "X-Hub-Signature-256": signature])
            #expect(again.status == 202 && again.text.contains("no pipeline started"), "\(again.text)")

            // GitLab, after a new commit, and the generic notify.
            try repository.commit(["README": "hooks 2\n"])
            let gitlab = Data(#"{"ref": "refs/heads/main", "project": {"git_http_url": "\#(repository.url)"}}"#.utf8)
            #expect(try await api.request("POST", "/go/api/webhooks/gitlab/notify", data: gitlab,
                                          headers: ["X-Gitlab-Token": "wrong"]).status == 401)
            let gitlabReply = try await api.request("POST", "/go/api/webhooks/gitlab/notify", data: gitlab, headers: ["X-Gitlab-Token": secret])
            #expect(gitlabReply.status == 202 && (try? gitlabReply.json()["pipelines"] as? [String]) == ["hooked/2"], "\(gitlabReply.text)")
            try repository.git(["checkout", "-q", "-b", "other"])
            try repository.commit(["README": "other\n"])
            let generic = try await api.post("/go/api/webhooks/notify", body: #"{"repository_url": "\#(repository.url)", "branch": "other"}"#)
            #expect(generic.status == 202 && (try? generic.json()["pipelines"] as? [String]) == ["elsewhere/1"], "\(generic.text)")
            #expect(try await api.post("/go/api/webhooks/notify", body: "{}").status == 400)
        }
    }
}

/// HMAC-SHA256 in hex, computed by `openssl` (independent of the code under test).
func hmacSHA256(key: String, data: Data) -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-hmac-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: file) }
    guard (try? data.write(to: file)) != nil,
          let result = try? runProcess(URL(fileURLWithPath: "/usr/bin/openssl"), ["dgst", "-sha256", "-hmac", key, "-r", file.path]) else { return "" }
    return String(result.standardOutput.prefix(64))
}
