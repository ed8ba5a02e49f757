import Foundation
import Shared
import Testing

/// One broken configuration and exactly the errors it must produce.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    /// An expected error: its code, file, line, column and a piece of its message.
    struct Expected: Sendable {
        var code: ConfigError.Code
        var file = "ci.gocd.yaml"
        var line: Int
        var column: Int
        var message: String
    }

    var name: String
    var files: [ConfigFile]
    var expected: [Expected]

    init(_ name: String, _ text: String, _ expected: Expected...) {
        self.name = name
        files = [ConfigFile(name: "ci.gocd.yaml", text: text)]
        self.expected = expected
    }

    init(_ name: String, files: [ConfigFile], _ expected: Expected...) {
        self.name = name
        self.files = files
        self.expected = expected
    }

    var testDescription: String { name }
}

@Suite struct ConfigErrorTests {
    static let build = ConfigFixtures.build

    static let cases: [ErrorCase] = [
        ErrorCase(
            "unknown key", build + "\n    stagez: []",
            .init(
                code: .unknownKey, line: 10, column: 5,
                message:
                    "unknown key 'stagez' in pipeline 'build' (expected one of: display_order, environment_variables, "
                    + "group, label_template, lock_behavior, locking, materials, parameters, secure_variables, stages, template, timer, tracking_tool)"
            )),
        ErrorCase(
            "bad boolean",
            """
            pipelines:
              build:
                materials:
                  src:
                    git: https://example.com/build.git
                    shallow_clone: maybe
                stages:
                  - compile: {tasks: [{exec: {command: make}}]}
            """,
            .init(
                code: .invalidValue, line: 6, column: 24,
                message: "expected a boolean (true/false, yes/no, on/off) for 'shallow_clone' in material 'src' of "
                    + "pipeline 'build', found 'maybe'")),
        ErrorCase(
            "both stages and template", build + "\n    template: rpm",
            .init(
                code: .conflictingKeys, line: 10, column: 5,
                message: "pipeline 'build' has both 'stages' and 'template'")),
        ErrorCase(
            "neither stages nor template",
            """
            pipelines:
              build:
                materials: {src: {git: https://example.com/build.git}}
            """,
            .init(
                code: .missingKey, line: 2, column: 3, message: "pipeline 'build' needs either 'stages' or 'template'")),
        ErrorCase(
            "unknown template",
            """
            pipelines:
              build:
                materials:
                  src:
                    git: https://example.com/build.git
                template: nope
            """,
            .init(
                code: .unknownTemplate, line: 6, column: 15,
                message: "unknown template 'nope' in pipeline 'build' (templates: none)")),
        ErrorCase(
            "unknown parameter",
            build.replacingOccurrences(of: "{command: make}", with: "{command: \"make #{TARGET}\"}"),
            .init(
                code: .unknownParameter, line: 9, column: 31,
                message: "unknown parameter '#{TARGET}' in pipeline 'build' (the pipeline declares no parameters)")),
        ErrorCase(
            "unknown parameter in a template",
            """
            templates:
              tpl:
                stages:
                  - deploy:
                      tasks:
                        - exec:
                            command: deploy
                            arguments: ["--to", "#{ENV}"]
            pipelines:
              build:
                parameters: {TARGET: x}
                materials:
                  src: {git: https://example.com/build.git}
                template: tpl
            """,
            .init(
                code: .unknownParameter, line: 8, column: 37,
                message:
                    "unknown parameter '#{ENV}' in template 'tpl' used by pipeline 'build' (declared parameters: TARGET)"
            )),
        ErrorCase(
            "unterminated parameter",
            build.replacingOccurrences(of: "{command: make}", with: "{command: \"#{TARGET\"}"),
            .init(
                code: .invalidValue, line: 9, column: 31,
                message: "'#{' without a closing '}' in '#{TARGET' in pipeline 'build'")),
        ErrorCase(
            "YAML syntax error", "pipelines:\n  build:\n    group: a\n   bad: b\n",
            .init(
                code: .yamlSyntax, line: 4, column: 4, message: "invalid YAML: did not find expected key")),
        ErrorCase(
            "duplicate YAML key points at the second one", "pipelines:\n  build:\n    group: a\n    group: b\n",
            .init(
                code: .yamlSyntax, line: 4, column: 5,
                message: "invalid YAML: duplicate key 'group' in one mapping (first at line 3, column 5)")),
        ErrorCase(
            "duplicate pipeline across files",
            files: [
                ConfigFile(name: "a.gocd.yaml", text: build),
                ConfigFile(name: "b.gocd.yaml", text: build),
            ],
            .init(
                code: .duplicateName, file: "b.gocd.yaml", line: 2, column: 3,
                message: "pipeline 'build' is already defined at a.gocd.yaml:2:3; this definition is ignored")),
        ErrorCase(
            "pipeline in two environments",
            build + """

                environments:
                  dev:
                    pipelines: [build]
                  pro:
                    pipelines:
                      - build
                """,
            .init(
                code: .environmentConflict, line: 15, column: 9,
                message: "pipeline 'build' is in environment 'dev' (ci.gocd.yaml:12:17) and in environment 'pro': "
                    + "a pipeline may belong to at most one environment")),
        ErrorCase(
            "environment lists an undefined pipeline", build + "\nenvironments:\n  dev:\n    pipelines: [biuld]",
            .init(
                code: .unknownPipeline, line: 12, column: 17,
                message: "environment 'dev' lists pipeline 'biuld', which is not defined")),
        ErrorCase(
            "unknown upstream pipeline",
            """
            pipelines:
              deploy:
                materials:
                  up:
                    pipeline: nothere
                    stage: build
                stages:
                  - deploy: {tasks: [{exec: {command: deploy}}]}
            """,
            .init(
                code: .unknownUpstream, line: 4, column: 7,
                message:
                    "dependency material 'up' of pipeline 'deploy' refers to pipeline 'nothere', which is not defined")),
        ErrorCase(
            "unknown upstream stage",
            build + """

                  deploy:
                    materials:
                      build: {pipeline: build, stage: package}
                    stages:
                      - deploy: {tasks: [{exec: {command: deploy}}]}
                """,
            .init(
                code: .unknownUpstream, line: 12, column: 7,
                message: "refers to stage 'package' of pipeline 'build', which has no such stage (stages: compile)")),
        ErrorCase(
            "dependency cycle",
            """
            pipelines:
              a:
                materials:
                  b: {pipeline: b, stage: s}
                stages:
                  - s: {tasks: [{exec: {command: x}}]}
              b:
                materials:
                  a: {pipeline: a, stage: s}
                stages:
                  - s: {tasks: [{exec: {command: x}}]}
            """,
            .init(
                code: .dependencyCycle, line: 4, column: 7, message: "dependency materials form a cycle: a -> b -> a"),
            .init(code: .dependencyCycle, line: 9, column: 7, message: "dependency materials form a cycle: b -> a -> b")
        ),
        ErrorCase(
            "fetch from a later stage",
            """
            pipelines:
              build:
                materials: {src: {git: https://example.com/build.git}}
                stages:
                  - test:
                      tasks:
                        - fetch: {stage: package, job: package, source: out}
                  - package: {tasks: [{exec: {command: make}}]}
            """,
            .init(
                code: .unknownUpstream, line: 7, column: 15,
                message:
                    "fetch task 1 of job 'build/test/test' fetches from stage 'package' of its own pipeline, which "
                    + "does not run before stage 'test'")),
        ErrorCase(
            "fetch from a pipeline that is not an upstream",
            build + """

                  deploy:
                    materials: {src: {git: https://example.com/deploy.git}}
                    stages:
                      - deploy:
                          tasks:
                            - fetch: {pipeline: build, stage: compile, job: compile, source: out}
                """,
            .init(
                code: .unknownUpstream, line: 15, column: 15,
                message: "but pipeline 'deploy' has no dependency material on 'build'")),
        ErrorCase(
            "run_instances: all is refused, not run once", build + "\n          run_instances: all",
            .init(
                code: .notSupported, line: 10, column: 26,
                message:
                    "'run_instances' in job 'build/compile/compile': 'all' (one copy on each matching agent) is not supported yet; give the number of copies instead"
            )),
        ErrorCase(
            "elastic agents", build + "\n          elastic_profile_id: docker",
            .init(
                code: .notSupported, line: 10, column: 11,
                message:
                    "'elastic_profile_id' in stage 'build/compile' is not supported by Relevo: elastic agents do not exist"
            )),
        ErrorCase(
            "unknown task type",
            build.replacingOccurrences(of: "- exec: {command: make}", with: "- shell: {command: make}"),
            .init(
                code: .unknownKey, line: 9, column: 15,
                message: "unknown task type 'shell' in task 1 of job 'build/compile/compile' (expected exec, script or fetch)")),
        ErrorCase(
            "task fields not indented under the type",
            build.replacingOccurrences(
                of: "- exec: {command: make}", with: "- exec:\n              command: make"),
            .init(
                code: .wrongType, line: 10, column: 15,
                message: "task 1 of job 'build/compile/compile' has more than one key ('exec' and 'command')")),
        ErrorCase(
            "two git materials without destinations",
            """
            pipelines:
              build:
                materials:
                  app: {git: https://example.com/app.git}
                  lib: {git: https://example.com/lib.git, destination: lib}
                stages:
                  - compile: {tasks: [{exec: {command: make}}]}
            """,
            .init(
                code: .missingKey, line: 4, column: 7,
                message: "git material 'app' needs a 'destination': pipeline 'build' has 2 git materials")),
        ErrorCase(
            "ignore and includes together",
            """
            pipelines:
              build:
                materials:
                  src:
                    git: https://example.com/app.git
                    ignore: [docs/**]
                    whitelist: [src/**]
                stages:
                  - compile: {tasks: [{exec: {command: make}}]}
            """,
            .init(
                code: .conflictingKeys, line: 7, column: 9,
                message: "material 'src' of pipeline 'build' has both 'ignore' and 'whitelist'")),
        ErrorCase(
            "run_instances zero", build + "\n          run_instances: 0",
            .init(
                code: .invalidValue, line: 10, column: 26,
                message:
                    "expected a positive whole number or 'all' for 'run_instances' in job 'build/compile/compile', found '0'"
            )),
        ErrorCase(
            "timeout not a number", build + "\n          timeout: soon",
            .init(
                code: .invalidValue, line: 10, column: 20,
                message: "expected a whole number for 'timeout' in job 'build/compile/compile', found 'soon'")),
        ErrorCase(
            "invalid pipeline name", build.replacingOccurrences(of: "  build:", with: "  \"bad name\":"),
            .init(
                code: .invalidName, line: 2, column: 3, message: "invalid pipeline name 'bad name': use letters, digits"
            )),
        ErrorCase(
            "unsupported format version", "format_version: 11\n" + build,
            .init(
                code: .notSupported, line: 1, column: 17, message: "format_version 11 is not supported")),
        ErrorCase(
            "manual approval map without type", build + "\n          approval: {users: [bob]}",
            .init(
                code: .missingKey, line: 10, column: 11,
                message: "missing 'type' (manual or success) in 'approval' in stage 'build/compile'")),
        ErrorCase(
            "label template names an unknown material", build + "\n    label_template: \"${COUNT}-${git[:6]}\"",
            .init(
                code: .invalidValue, line: 10, column: 21,
                message: "refers to '${git}', which is neither COUNT nor one of its materials (src)")),
        ErrorCase(
            "unsupported material type",
            """
            pipelines:
              build:
                materials:
                  src: {svn: https://example.com/svn}
                stages:
                  - compile: {tasks: [{exec: {command: make}}]}
            """,
            .init(
                code: .notSupported, line: 4, column: 13,
                message: "'svn' materials are not supported by Relevo (material 'src' of pipeline 'build')")),
        ErrorCase(
            "destination outside the work directory",
            """
            pipelines:
              build:
                materials:
                  src: {git: https://example.com/app.git, destination: ../elsewhere}
                stages:
                  - compile: {tasks: [{exec: {command: make}}]}
            """,
            .init(
                code: .invalidValue, line: 4, column: 60,
                message: "'destination' in material 'src' of pipeline 'build' must be a relative path without '..'")),
        ErrorCase(
            "a list where a mapping belongs",
            """
            pipelines:
              build:
                materials:
                  - git
                stages: []
            """,
            .init(
                code: .wrongType, line: 4, column: 9,
                message: "expected a mapping for material 1 of pipeline 'build', found 'git'"),
            .init(code: .missingKey, line: 5, column: 13, message: "'stages' in pipeline 'build' is empty")),
    ]

    @Test(arguments: cases)
    func reportsEachErrorAtItsNode(_ errorCase: ErrorCase) {
        let snapshot = ConfigLoader().load(files: errorCase.files)
        #expect(snapshot.errors.count == errorCase.expected.count, "\(snapshot.errors.map(\.description))")
        for (error, expected) in zip(snapshot.errors, errorCase.expected) {
            #expect(error.code == expected.code, "\(error)")
            #expect(
                error.location == ConfigLocation(file: expected.file, line: expected.line, column: expected.column),
                "\(error)")
            #expect(error.message.contains(expected.message), "\(error)")
        }
    }

    @Test func descriptionReadsLikeACompilerMessage() {
        let snapshot = ConfigLoader().load(files: [
            ConfigFile(name: "pipelines/a.gocd.yaml", text: Self.build + "\n    stagez: []")
        ])
        #expect(
            snapshot.errors.first?.description.hasPrefix(
                "pipelines/a.gocd.yaml:10:5: unknown key 'stagez' in pipeline 'build' (expected one of: ") == true)
        #expect(snapshot.errors.first?.pipeline == "build")
    }

    @Test func aBrokenPipelineDoesNotKeepItsNeighbourOut() {
        let snapshot = ConfigLoader().load(files: [
            ConfigFile(
                name: "ci.gocd.yaml",
                text: Self.build + """

                      broken:
                        materials: {src: {git: https://example.com/b.git}}
                        stages:
                          - compile:
                              tasks: [{exec: {command: make}}]
                              run_instances: many
                      after:
                        materials: {src: {git: https://example.com/c.git}}
                        stages: [{compile: {tasks: [{exec: {command: make}}]}}]
                    """)
        ])
        #expect(snapshot.pipelines.map(\.name) == ["build", "after"])
        #expect(snapshot.errors.map(\.pipeline) == ["broken"])
    }

    @Test func aBrokenFileDoesNotKeepOtherFilesOut() {
        let snapshot = ConfigLoader().load(files: [
            ConfigFile(name: "a.gocd.yaml", text: "pipelines:\n  x: [unclosed\n"),
            ConfigFile(name: "b.gocd.yaml", text: Self.build),
        ])
        #expect(snapshot.pipelines.map(\.name) == ["build"])
        #expect(snapshot.errors.map(\.file) == ["a.gocd.yaml"])
        #expect(snapshot.errors.map(\.code) == [.yamlSyntax])
    }

    @Test func theFirstOfTwoDuplicatePipelinesIsKept() {
        let snapshot = ConfigLoader().load(files: [
            ConfigFile(name: "a.gocd.yaml", text: Self.build),
            ConfigFile(
                name: "b.gocd.yaml", text: Self.build.replacingOccurrences(of: "command: make", with: "command: other")),
        ])
        #expect(snapshot.pipelines.count == 1)
        #expect(snapshot.pipeline(named: "build")?.origin.file == "a.gocd.yaml")
        #expect(
            snapshot.pipeline(named: "build")?.stages.first?.jobs.first?.tasks == [.exec(ExecTask(command: "make"))])
    }

    @Test func downstreamsOfARejectedPipelineAreRejectedToo() {
        let snapshot = ConfigLoader().load(files: [
            ConfigFile(
                name: "ci.gocd.yaml",
                text: """
                    pipelines:
                      up:
                        materials: {src: {git: https://example.com/a.git}}
                        stages: [{build: {tasks: [{exec: {command: make}}]}}]
                        stagez: oops
                      down:
                        materials: {up: {pipeline: up, stage: build}}
                        stages: [{deploy: {tasks: [{exec: {command: deploy}}]}}]
                      other:
                        materials: {src: {git: https://example.com/b.git}}
                        stages: [{build: {tasks: [{exec: {command: make}}]}}]
                    """)
        ])
        #expect(snapshot.pipelines.map(\.name) == ["other"])
        #expect(snapshot.errors.map(\.pipeline) == ["up", "down"])
        #expect(snapshot.errors.last?.message.contains("refers to pipeline 'up', which did not load") == true)
    }

    @Test func aPipelineInTwoEnvironmentsDoesNotLoad() {
        let snapshot = ConfigLoader().load(files: [
            ConfigFile(
                name: "ci.gocd.yaml",
                text: Self.build + """

                    environments:
                      dev: {pipelines: [build]}
                      pro: {pipelines: [build]}
                    """)
        ])
        #expect(snapshot.pipelines.isEmpty)
        #expect(snapshot.environments.map(\.pipelines) == [[], []])
    }
}
