import Foundation
import Shared
import Testing

/// GoCD's "trigger with options": variables given at trigger time override the pipeline's; the
/// GoCD variables that say who triggered a run are set in every job.
@Suite(.serialized, .timeLimit(.minutes(3))) struct TriggerOptionsTests {
    @Test func variablesGivenAtTriggerTimeReachTheJobsAndUnknownOnesAreRefused() async throws {
        try await RelevoCluster.with { cluster in
            try cluster.writeUnfetchedPipeline("greet", stage: "say", jobs: [("say", """
                resources: [linux]
                tasks:
                  - exec: {command: /bin/sh, arguments: [-c, 'echo "greeting=$GREETING token-length=${#TOKEN} token=$TOKEN by=$GO_TRIGGER_USER group=$GO_PIPELINE_GROUP_NAME resources=$GO_AGENT_RESOURCES"']}
                """)])
            // The pipeline declares the two variables (a trigger may only override declared ones).
            let path = cluster.configDirectory.appendingPathComponent("greet.gocd.yaml")
            let text = try String(contentsOf: path, encoding: .utf8).replacingOccurrences(of: "  greet:\n", with: """
                  greet:
                    group: greeters
                    environment_variables: {GREETING: hello}
                    secure_variables: {TOKEN: default-token}

                """)
            try text.write(to: path, atomically: true, encoding: .utf8)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1", resources: ["linux"]))

            func schedule(_ variables: [[String: Any]]) async throws -> RelevoAPI.Reply {
                let body: [String: Any] = ["materials": [["name": "src", "revision": String(repeating: "0", count: 40)]],
                                           "environment_variables": variables]
                return try await cluster.api.post("/go/api/pipelines/greet/schedule",
                                                  body: String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
            }
            // A variable the pipeline does not declare: refused, with the ones it may override.
            let refused = try await schedule([["name": "NOPE", "value": "x"]])
            #expect(refused.status == 400 && refused.text.contains("variable 'NOPE' is not declared by pipeline 'greet'")
                    && refused.text.contains("GREETING, TOKEN"), "\(refused.text)")
            #expect(try await cluster.api.history("greet").isEmpty, "a refused trigger starts nothing")

            // GREETING overridden in clear, TOKEN overridden and still secure (it is in the config).
            let accepted = try await schedule([["name": "GREETING", "value": "bonjour"], ["name": "TOKEN", "value": "trigger-secret"]])
            #expect(accepted.status == 202, "\(accepted.text)")
            _ = try await cluster.api.waitFor("greet", 1, states: ["passed", "failed"], seconds: 60)
            let console = try await cluster.api.console("greet", 1, "say", "say")
            #expect(console.contains("greeting=bonjour token-length=14 token=****** by=anonymous group=greeters resources=linux"), "\(console)")
            #expect(!console.contains("trigger-secret"))

            // Without options the config's values come back; the CLI gives options too.
            let cli = try await runProcessAsync(try builtProduct("relevo"), [
                "trigger", "greet", "--revision", "src=\(String(repeating: "0", count: 40))", "--var", "GREETING=hola", "--wait",
                "--server", "http://127.0.0.1:\(cluster.port)"])
            #expect(cli.status == 0, "\(cli)")
            #expect(try await cluster.api.console("greet", 2, "say", "say").contains("greeting=hola token-length=13"))

            // GoCD's update_materials_before_scheduling: false runs on the revision last seen,
            // without asking the repository (this one cannot be reached: asking fails).
            let asking = try await cluster.api.post("/go/api/pipelines/greet/schedule", body: "{}")
            #expect(asking.status == 503, "\(asking.text)")
            let lastSeen = try await cluster.api.post("/go/api/pipelines/greet/schedule", body: #"{"update_materials_before_scheduling": false}"#)
            #expect(lastSeen.status == 202, "\(lastSeen.text)")
            let third = try await cluster.api.instance("greet", 3)
            #expect((third?["material_revisions"] as? [String: String])?["src"] == String(repeating: "0", count: 40), "\(String(describing: third))")
        }
    }
}
