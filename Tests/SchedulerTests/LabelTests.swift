import Foundation
import Logging
import RelevoTestSupport
import Shared
import Testing

@testable import Scheduler

/// GoCD's label templates: `${upstream}` is the upstream run's label, `${env:NAME}` a variable.
@Suite struct LabelTests {
    @Test func aDependencyShowsItsUpstreamsLabelAndEnvShowsAVariable() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            let snapshot = ConfigLoader().load(files: [ConfigFile(name: "l.gocd.yaml", text: """
            format_version: 10
            pipelines:
              up:
                label_template: "1.2.${COUNT}"
                materials:
                  src: {git: "https://example.com/up.git"}
                stages:
                  - build: {jobs: {build: {tasks: [{exec: {command: make}}]}}}
              down:
                label_template: "${upstream}-${env:FLAVOR}-${env:UNKNOWN}-${COUNT}"
                environment_variables: {FLAVOR: vanilla}
                materials:
                  upstream: {pipeline: up, stage: build}
                stages:
                  - deploy: {jobs: {deploy: {tasks: [{exec: {command: make}}]}}}
            """)])
            #expect(snapshot.errors.map(\.description) == [])
            let engine = SchedulerEngine(config: snapshot, store: store, publisher: InMemoryPublisher(),
                                         git: GitClient(cacheRoot: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("git").path),
                                         serverURL: "http://scheduler/go", artifactToken: { "t-\($0)#\($1)" }, logger: Logger(label: "test"))
            await engine.apply(config: snapshot)
            let up = try #require(snapshot.pipeline(named: "up"))
            _ = try await store.createRun(of: up, cause: .manual(user: "ana"), materialRevisions: ["src": "abc"], at: Date())
            let first = try await engine.trigger("down", cause: .manual(user: "ana"), revisions: ["upstream": "up/1/build/1"])
            #expect(first.label == "1.2.1-vanilla-${env:UNKNOWN}-1")
            let second = try await engine.trigger("down", cause: .manual(user: "ana"), revisions: ["upstream": "up/1/build/1"],
                                                  variables: [EnvironmentVariable(name: "FLAVOR", value: "chocolate")])
            #expect(second.label == "1.2.1-chocolate-${env:UNKNOWN}-2")
        }
    }

    @Test func aLabelMayNotShowASecureVariable() {
        let snapshot = ConfigLoader().load(files: [ConfigFile(name: "l.gocd.yaml", text: """
        format_version: 10
        pipelines:
          leaky:
            label_template: "${COUNT}-${env:TOKEN}"
            secure_variables: {TOKEN: s3cret}
            materials:
              src: {git: "https://example.com/a.git"}
            stages:
              - build: {jobs: {build: {tasks: [{exec: {command: make}}]}}}
        """)])
        #expect(snapshot.errors.map(\.description).contains { $0.hasPrefix("l.gocd.yaml:4:") && $0.contains("secure variable 'TOKEN'") },
                "\(snapshot.errors.map(\.description))")
    }
}
