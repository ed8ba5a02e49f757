import Foundation
import Testing

/// Many pipelines from one template with parameters; editing the template changes every one of
/// them from its next instance, while a running instance keeps what it started with.
@Suite(.serialized, .timeLimit(.minutes(3))) struct TemplateTests {
    private func config(_ repository: GitRepository, greeting: String) -> String {
        """
        format_version: 10
        templates:
          greet:
            stages:
              - say:
                  jobs:
                    say:
                      tasks:
                        - exec: {command: /bin/sh, arguments: ["-c", "echo '\(greeting) #{WHO}' from $GO_PIPELINE_NAME"]}
        pipelines:
          greet-alice:
            template: greet
            parameters: {WHO: alice}
            materials:
              src: {git: "\(repository.url)", branch: main, auto_update: false}
          greet-bob:
            template: greet
            parameters: {WHO: bob}
            materials:
              src: {git: "\(repository.url)", branch: main, auto_update: false}
        """
    }

    @Test func aTemplateChangeReachesEveryPipelineFromItsNextInstance() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "templates\n"])
            try cluster.writeConfig("greet.gocd.yaml", config(repository, greeting: "hello"))
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "worker-1", slots: 2))
            for who in ["alice", "bob"] {
                _ = try await cluster.api.trigger("greet-\(who)")
                try await cluster.api.waitFor("greet-\(who)", 1, states: ["passed"])
                #expect(try await cluster.api.console("greet-\(who)", 1, "say", "say").contains("hello \(who) from greet-\(who)"))
            }

            try cluster.writeConfig("greet.gocd.yaml", config(repository, greeting: "goodbye"))
            for who in ["alice", "bob"] {
                // The scheduler picks the edit up on its next reload (every 2 s).
                try await eventually(30, "greet-\(who) to use the new template") {
                    let counter = try await cluster.api.trigger("greet-\(who)")
                    try await cluster.api.waitFor("greet-\(who)", counter, states: ["passed"])
                    return try await cluster.api.console("greet-\(who)", counter, "say", "say").contains("goodbye \(who) from greet-\(who)")
                }
                #expect(try await cluster.api.console("greet-\(who)", 1, "say", "say").contains("hello \(who)"),
                        "an instance that already ran keeps its console")
            }
        }
    }
}
