import Foundation
import Shared
import Testing

@Suite struct ConfigLoaderTests {
    private let loader = ConfigLoader()

    private func load(_ text: String, name: String = "ci.gocd.yaml") -> ConfigSnapshot {
        loader.load(files: [ConfigFile(name: name, text: text)])
    }

    @Test func loadsTheFullExampleFullyExpanded() throws {
        let snapshot = load(ConfigFixtures.full)
        #expect(snapshot.errors.map(\.description) == [])
        #expect(snapshot.pipelines.map(\.name) == ["check-disk", "createrepo-dev"])

        let checkDisk = try #require(snapshot.pipeline(named: "check-disk"))
        let expectedCheckDisk = PipelineDefinition(
            name: "check-disk",
            group: "nagios",
            labelTemplate: try LabelTemplate(parsing: "${COUNT}-${src[:7]}"),
            lockBehavior: .unlockWhenFinished,
            displayOrder: 3,
            parameters: ["NAME": "check_disk"],
            template: "rpm",
            environmentVariables: [
                EnvironmentVariable(name: "CHECK", value: "check_disk"),
                EnvironmentVariable(name: "TOKEN", value: "s3cr3t-value", secure: true),
            ],
            materials: [
                .git(
                    GitMaterial(
                        name: "src", url: "https://git.example.com/nagios/check_disk.git", branch: "main",
                        shallowClone: true, ignore: ["docs/**"]))
            ],
            stages: [
                StageDefinition(
                    name: "test",
                    jobs: [
                        JobDefinition(name: "test", tasks: [.exec(ExecTask(command: "make", arguments: ["test"]))])
                    ]),
                StageDefinition(
                    name: "package",
                    jobs: [
                        JobDefinition(
                            name: "rpm",
                            resources: ["linux", "rpm"],
                            artifacts: [
                                ArtifactDefinition(type: .build, source: "dist/check_disk-*.rpm", destination: "rpms")
                            ],
                            tasks: [
                                .exec(
                                    ExecTask(
                                        command: "rpmbuild",
                                        arguments: ["-bb", "check_disk.spec", "--define", "marker #{literal}"]))
                            ])
                    ]),
                StageDefinition(
                    name: "upload_rpm",
                    approval: ApprovalDefinition(
                        type: .manual, allowOnlyOnSuccess: true, users: ["alice"], roles: ["release"]),
                    jobs: [
                        JobDefinition(
                            name: "upload",
                            tasks: [
                                .fetch(FetchTask(stage: "package", job: "rpm", source: "rpms", destination: "upload")),
                                .exec(
                                    ExecTask(
                                        command: "upload-rpm", arguments: ["upload/"], runIf: .any,
                                        onCancel: OnCancelTask(command: "rm", arguments: ["-rf", "upload"]))),
                            ])
                    ]),
            ],
            environment: "dev",
            origin: ConfigLocation(file: "ci.gocd.yaml", line: 47, column: 3))
        #expect(checkDisk == expectedCheckDisk)

        let createrepo = try #require(snapshot.pipeline(named: "createrepo-dev"))
        let expectedCreaterepo = PipelineDefinition(
            name: "createrepo-dev",
            group: "repos",
            parameters: ["ENV": "dev"],
            materials: [
                .dependency(DependencyMaterial(name: "check-disk", pipeline: "check-disk", stage: "upload_rpm"))
            ],
            stages: [
                StageDefinition(
                    name: "createrepo", cleanWorkspace: true,
                    jobs: [
                        JobDefinition(
                            name: "createrepo",
                            runInstances: .count(2),
                            timeout: 15,
                            serial: "createrepo-dev",
                            tasks: [
                                .fetch(FetchTask(pipeline: "check-disk", stage: "package", job: "rpm", source: "rpms")),
                                .exec(ExecTask(command: "createrepo", arguments: ["/srv/repo/dev"])),
                            ]),
                        JobDefinition(
                            name: "smoke", resources: ["windows"], runInstances: .count(3),
                            tasks: [.exec(ExecTask(command: "smoke-test"))]),
                    ])
            ],
            environment: "dev",
            origin: ConfigLocation(file: "ci.gocd.yaml", line: 65, column: 3))
        #expect(createrepo == expectedCreaterepo)

        #expect(
            snapshot.environments == [
                EnvironmentDefinition(
                    name: "dev",
                    environmentVariables: [
                        EnvironmentVariable(name: "REPO", value: "/srv/repo/dev"),
                        EnvironmentVariable(name: "REPO_PASSWORD", value: "hunter2", secure: true),
                    ],
                    pipelines: ["check-disk", "createrepo-dev"],
                    agents: ["agent-1"])
            ])
    }

    @Test func singleJobShorthandMakesOneJobNamedLikeTheStage() throws {
        let snapshot = load(
            """
            pipelines:
              build:
                materials:
                  src: {git: https://example.com/build.git}
                stages:
                  - compile:
                      approval: manual
                      fetch_materials: no
                      environment_variables: {LEVEL: "2"}
                      resources: [cpp]
                      timeout: 0
                      tasks:
                        - exec: {command: make, working_directory: src}
            """)
        #expect(snapshot.errors.map(\.description) == [])
        let stage = try #require(snapshot.pipeline(named: "build")?.stages.first)
        #expect(
            stage
                == StageDefinition(
                    name: "compile",
                    approval: .manual,
                    fetchMaterials: false,
                    environmentVariables: [EnvironmentVariable(name: "LEVEL", value: "2")],
                    jobs: [
                        JobDefinition(
                            name: "compile", resources: ["cpp"], timeout: 0,
                            tasks: [.exec(ExecTask(command: "make", workingDirectory: "src"))])
                    ]))
    }

    @Test(arguments: [
        ("true", true), ("True", true), ("YES", true), ("yes", true), ("on", true), ("On", true), ("y", true),
        ("false", false), ("FALSE", false), ("no", false), ("No", false), ("off", false), ("OFF", false), ("n", false),
        ("\"yes\"", true), ("'off'", false),
    ])
    func booleanSpellings(spelling: String, expected: Bool) throws {
        let snapshot = load(
            """
            pipelines:
              build:
                materials:
                  src:
                    git: https://example.com/build.git
                    shallow_clone: \(spelling)
                    auto_update: \(spelling)
                stages:
                  - compile:
                      clean_workspace: \(spelling)
                      tasks:
                        - exec: {command: make}
            """)
        #expect(snapshot.errors.map(\.description) == [])
        let pipeline = try #require(snapshot.pipeline(named: "build"))
        #expect(pipeline.gitMaterials.first?.shallowClone == expected)
        #expect(pipeline.gitMaterials.first?.autoUpdate == expected)
        #expect(pipeline.stages.first?.cleanWorkspace == expected)
    }

    @Test func defaultsFollowGoCD() throws {
        let snapshot = load(ConfigFixtures.build)
        let pipeline = try #require(snapshot.pipeline(named: "build"))
        #expect(pipeline.group == "defaultGroup")
        #expect(pipeline.labelTemplate == .default)
        #expect(pipeline.lockBehavior == LockBehavior.none)
        #expect(pipeline.displayOrder == -1)
        #expect(pipeline.environment == nil)
        let git = try #require(pipeline.gitMaterials.first)
        #expect(git.branch == "master")
        #expect(git.autoUpdate && !git.shallowClone && git.destination == nil)
        let stage = try #require(pipeline.stages.first)
        #expect(stage.approval == .success && stage.fetchMaterials && !stage.cleanWorkspace && !stage.keepArtifacts)
        let job = try #require(stage.jobs.first)
        #expect(job.runInstances == .one && job.timeout == nil && job.serial == nil)
        #expect(job.tasks.first?.runIf == .passed)
    }

    @Test func materialNamesDefaultAsInGoCDWhenGivenAsAList() throws {
        let snapshot = load(
            """
            pipelines:
              up:
                materials:
                  - git: https://example.com/tools/check_disk.git
                    destination: check
                  - type: git
                    url: git@example.com:ops/nagios-plugins
                    destination: plugins
                    whitelist: [src/**]
                stages:
                  - build: {tasks: [{exec: {command: make}}]}
              down:
                materials:
                  - pipeline: up
                    stage: build
                    ignore_for_scheduling: true
                stages:
                  - deploy: {tasks: [{exec: {command: deploy}}]}
            """)
        #expect(snapshot.errors.map(\.description) == [])
        #expect(snapshot.pipeline(named: "up")?.materials.map(\.name) == ["check_disk", "nagios-plugins"])
        #expect(snapshot.pipeline(named: "up")?.gitMaterials.last?.includes == ["src/**"])
        #expect(
            snapshot.pipeline(named: "down")?.materials == [
                .dependency(DependencyMaterial(name: "up", pipeline: "up", stage: "build", ignoreForScheduling: true))
            ])
    }

    @Test func namesReferringToOtherPipelinesTakeTheDeclaredSpelling() throws {
        let snapshot = load(
            """
            pipelines:
              Upstream:
                materials: {src: {git: https://example.com/a.git}}
                stages:
                  - Build: {jobs: {Compile: {tasks: [{exec: {command: make}}]}}}
              downstream:
                materials:
                  up: {pipeline: upstream, stage: build}
                stages:
                  - deploy:
                      tasks:
                        - fetch: {pipeline: UPSTREAM, stage: BUILD, job: compile, source: out}
            """)
        #expect(snapshot.errors.map(\.description) == [])
        let downstream = try #require(snapshot.pipeline(named: "downstream"))
        #expect(downstream.dependencyMaterials.first?.pipeline == "Upstream")
        #expect(downstream.dependencyMaterials.first?.stage == "Build")
        #expect(
            downstream.stages.first?.jobs.first?.tasks.first
                == .fetch(
                    FetchTask(
                        pipeline: "Upstream", stage: "Build", job: "Compile", source: "out")))
    }

    @Test func fetchThroughAGrandparentPath() throws {
        let snapshot = load(
            """
            pipelines:
              grand:
                materials: {src: {git: https://example.com/a.git}}
                stages: [{build: {jobs: {rpm: {tasks: [{exec: {command: make}}]}}}}]
              parent:
                materials: {grand: {pipeline: grand, stage: build}}
                stages: [{test: {tasks: [{exec: {command: test}}]}}]
              child:
                materials: {parent: {pipeline: parent, stage: test}}
                stages:
                  - deploy:
                      tasks:
                        - fetch: {pipeline: grand/parent, stage: build, job: rpm, source: dist}
            """)
        #expect(snapshot.errors.map(\.description) == [])
        #expect(snapshot.pipelines.count == 3)
    }

    @Test func serialKeysResourcesAndLockingSpellings() throws {
        let snapshot = load(
            """
            pipelines:
              build:
                locking: yes
                materials: {src: {git: https://example.com/a.git}}
                stages:
                  - compile:
                      resources: ["  Windows", "windows", DotNet ]
                      tasks: [{exec: {command: make}}]
            """)
        #expect(snapshot.errors.map(\.description) == [])
        let pipeline = try #require(snapshot.pipeline(named: "build"))
        #expect(pipeline.lockBehavior == .lockOnFailure)
        #expect(pipeline.stages.first?.jobs.first?.resources == ["dotnet", "windows"])
    }

    @Test func mergeKeysAndAliasedTaskListsAreSpliced() throws {
        let snapshot = load(
            """
            common:
              defaults: &defaults
                clean_workspace: true
                fetch_materials: false
              setup: &setup
                - exec: {command: setup}
            pipelines:
              build:
                materials: {src: {git: https://example.com/a.git}}
                stages:
                  - compile:
                      <<: *defaults
                      fetch_materials: true
                      tasks:
                        - *setup
                        - exec: {command: make}
            """)
        #expect(snapshot.errors.map(\.description) == [])
        let stage = try #require(snapshot.pipeline(named: "build")?.stages.first)
        #expect(stage.cleanWorkspace && stage.fetchMaterials)
        #expect(stage.jobs.first?.tasks == [.exec(ExecTask(command: "setup")), .exec(ExecTask(command: "make"))])
    }

    @Test func environmentsDeclaredInSeveralFilesAreMerged() {
        let snapshot = loader.load(files: [
            ConfigFile(
                name: "a.gocd.yaml",
                text: ConfigFixtures.build + """

                    environments:
                      pro:
                        environment_variables: {ZONE: eu}
                        pipelines: [build]
                    """),
            ConfigFile(
                name: "b.gocd.yaml",
                text: """
                    environments:
                      pro:
                        environment_variables: {ZONE: eu, LEVEL: high}
                        agents: [agent-9]
                    """),
        ])
        #expect(snapshot.errors.map(\.description) == [])
        #expect(
            snapshot.environments == [
                EnvironmentDefinition(
                    name: "pro",
                    environmentVariables: [
                        EnvironmentVariable(name: "ZONE", value: "eu"),
                        EnvironmentVariable(name: "LEVEL", value: "high"),
                    ],
                    pipelines: ["build"],
                    agents: ["agent-9"])
            ])
        #expect(snapshot.pipeline(named: "build")?.environment == "pro")
    }
}
