import Foundation
import Shared
import Testing

/// The YAML plugin's `script:` shorthand: a bash script run as GoCD's script executor runs it.
@Suite struct ScriptTaskTests {
    private func tasks(_ yaml: String) throws -> (tasks: [TaskDefinition], errors: [String]) {
        let text = """
        format_version: 10
        pipelines:
          scripted:
            materials:
              src: {git: "https://example.com/a.git"}
            stages:
              - build:
                  jobs:
                    build:
                      tasks:
        \(yaml.split(separator: "\n", omittingEmptySubsequences: false).map { "                " + $0 }.joined(separator: "\n"))
        """
        let snapshot = ConfigLoader().load(files: [ConfigFile(name: "s.gocd.yaml", text: text)])
        let tasks = snapshot.pipeline(named: "scripted")?.stages.first?.jobs.first?.tasks ?? []
        return (tasks, snapshot.errors.map(\.description))
    }

    @Test func aScriptBecomesBashWithErrexitNounsetAndPipefail() throws {
        let (tasks, errors) = try self.tasks("""
        - script: |
            echo one
            ./build.sh compile
        - script: echo cleanup
          run_if: any
        """)
        #expect(errors == [])
        #expect(tasks == [
            .exec(ExecTask(command: "/bin/bash", arguments: ["-euo", "pipefail", "-c", "echo one\n./build.sh compile\n"])),
            .exec(ExecTask(command: "/bin/bash", arguments: ["-euo", "pipefail", "-c", "echo cleanup"], runIf: .any)),
        ])
    }

    @Test func anEmptyScriptOrAStrayKeyIsAnErrorWithItsPlace() throws {
        let (_, errors) = try self.tasks("""
        - script: ""
        - script: echo hi
          working_directory: sub
        """)
        #expect(errors.count == 2, "\(errors)")
        #expect(errors.contains { $0.contains("s.gocd.yaml:11:27:") && $0.contains("has no script") }, "\(errors)")
        #expect(errors.contains { $0.contains("working_directory") }, "\(errors)")
    }

    /// Run for real: the first failing command ends the script, as in GoCD.
    @Test func theScriptStopsAtItsFirstFailingCommand() async throws {
        let (tasks, _) = try self.tasks("""
        - script: |
            echo first
            false
            echo never
        """)
        guard case .exec(let task) = try #require(tasks.first) else { Issue.record("not an exec task"); return }
        var output = ""
        let status = try await ProcessRunner().run(
            ProcessSpec(executable: task.command, arguments: task.arguments, environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/tmp")
        ) { output += $0.text }
        #expect(status == .exited(1))
        #expect(output == "first\n")
    }
}

@Suite struct JobTabTests {
    private func load(_ tabs: String) -> ConfigSnapshot {
        ConfigLoader().load(files: [ConfigFile(name: "t.gocd.yaml", text: """
        format_version: 10
        pipelines:
          tabbed:
            materials:
              src: {git: "https://example.com/a.git"}
            stages:
              - test:
                  jobs:
                    unit:
                      tabs: \(tabs)
                      tasks: [{exec: {command: make}}]
        """)])
    }

    @Test func tabsAreReadInOrderAndABadPathIsAnErrorAtIt() {
        let good = load("{coverage: reports/coverage/index.html, junit: reports/junit.xml}")
        #expect(good.errors.map(\.description) == [])
        #expect(good.pipeline(named: "tabbed")?.stages.first?.jobs.first?.tabs
                == [JobTab(name: "coverage", path: "reports/coverage/index.html"), JobTab(name: "junit", path: "reports/junit.xml")])
        let bad = load("{escape: ../../etc/passwd}")
        #expect(bad.errors.map(\.description).contains { $0.hasPrefix("t.gocd.yaml:10:") && $0.contains("without '..'") },
                "\(bad.errors.map(\.description))")
    }
}

@Suite struct TrackingToolConfigTests {
    private func load(_ tool: String) -> ConfigSnapshot {
        ConfigLoader().load(files: [ConfigFile(name: "t.gocd.yaml", text: """
        format_version: 10
        pipelines:
          tracked:
            tracking_tool: \(tool)
            materials:
              src: {git: "https://example.com/a.git"}
            stages:
              - build: {jobs: {build: {tasks: [{exec: {command: make}}]}}}
        """)])
    }

    @Test func aTrackingToolIsReadAndABadOneIsAnError() throws {
        let good = load(#"{link: "https://jira.example/browse/SHOP-${ID}", regex: "SHOP-(\\d+)"}"#)
        #expect(good.errors.map(\.description) == [])
        let tool = try #require(good.pipeline(named: "tracked")?.trackingTool)
        #expect(tool.segments(of: "SHOP-12: fix").map(\.url) == ["https://jira.example/browse/SHOP-12", nil])
        let noID = load(#"{link: "https://jira.example/browse/", regex: "SHOP-(\\d+)"}"#)
        #expect(noID.errors.map(\.description).contains { $0.hasPrefix("t.gocd.yaml:4:") && $0.contains("must contain ${ID}") }, "\(noID.errors.map(\.description))")
        let badRegex = load(#"{link: "https://x/${ID}", regex: "(unclosed"}"#)
        #expect(badRegex.errors.map(\.description).contains { $0.contains("not a valid regular expression") })
    }
}
