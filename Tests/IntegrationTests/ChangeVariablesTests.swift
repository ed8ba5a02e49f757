import Foundation
import Testing

/// GoCD's change variables (issue #16): GO_TO_REVISION is the commit built, GO_FROM_REVISION the
/// first commit since the previous instance, GO_MATERIAL_HAS_CHANGED whether it moved.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ChangeVariablesTests {
    @Test func fromToAndHasChangedFollowTheCommitsBetweenInstances() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            let first = try repository.commit(["a.txt": "1\n"], message: "one")
            try cluster.writeConfig("changes.gocd.yaml", """
            format_version: 10
            pipelines:
              changes:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - show:
                      jobs:
                        env:
                          tasks:
                            - exec: {command: /bin/sh, arguments: [-c, 'echo "from=$GO_FROM_REVISION to=$GO_TO_REVISION changed=$GO_MATERIAL_HAS_CHANGED src_changed=$GO_MATERIAL_SRC_HAS_CHANGED"']}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1"))
            func run(_ counter: Int) async throws -> String {
                #expect(try await cluster.api.trigger("changes") == counter)
                _ = try await cluster.api.waitFor("changes", counter, states: ["passed", "failed"], seconds: 60)
                return try await cluster.api.console("changes", counter, "show", "env")
            }
            let one = try await run(1)
            #expect(one.contains("from=\(first) to=\(first) changed=true src_changed=true"), "\(one)")
            let second = try repository.commit(["a.txt": "2\n"], message: "two")
            let third = try repository.commit(["a.txt": "3\n"], message: "three")
            let two = try await run(2)
            #expect(two.contains("from=\(second) to=\(third) changed=true"), "\(two)")
            let three = try await run(3)
            #expect(three.contains("from=\(third) to=\(third) changed=false src_changed=false"), "\(three)")
        }
    }
}
