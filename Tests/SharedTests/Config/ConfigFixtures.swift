import Shared

/// YAML used by several config tests.
enum ConfigFixtures {
    /// A repository that uses most of the format: a YAML-defined template with parameters and
    /// `##{`, environments, a dependency material, fetch tasks, artifacts, `serial`,
    /// `run_instances` and a manual approval in map form.
    static let full = """
        format_version: 10
        common:
          build_tasks: &build_tasks
            - exec:
                command: make
                arguments: [test]
        templates:
          rpm:
            stages:
              - test:
                  tasks: *build_tasks
              - package:
                  jobs:
                    rpm:
                      resources: [Linux, " rpm ", linux]
                      artifacts:
                        - build:
                            source: "dist/#{NAME}-*.rpm"
                            destination: rpms
                      tasks:
                        - exec:
                            command: rpmbuild
                            arguments: ["-bb", "#{NAME}.spec", "--define", "marker ##{literal}"]
              - upload_rpm:
                  approval:
                    type: manual
                    allow_only_on_success: yes
                    users: [alice]
                    roles: [release]
                  jobs:
                    upload:
                      tasks:
                        - fetch:
                            stage: package
                            job: rpm
                            source: rpms
                            destination: upload
                        - exec:
                            command: upload-rpm
                            arguments: [upload/]
                            run_if: any
                            on_cancel:
                              exec:
                                command: rm
                                arguments: [-rf, upload]
        pipelines:
          check-disk:
            group: nagios
            label_template: "${COUNT}-${src[:7]}"
            lock_behavior: unlockWhenFinished
            display_order: 3
            parameters:
              NAME: check_disk
            environment_variables:
              CHECK: "#{NAME}"
            secure_variables:
              TOKEN: s3cr3t-value
            materials:
              src:
                git: https://git.example.com/nagios/check_disk.git
                branch: main
                shallow_clone: on
                ignore: [docs/**]
            template: rpm
          createrepo-dev:
            group: repos
            parameters:
              ENV: dev
            materials:
              check-disk:
                pipeline: check-disk
                stage: upload_rpm
            stages:
              - createrepo:
                  clean_workspace: true
                  jobs:
                    createrepo:
                      serial: "createrepo-#{ENV}"
                      run_instances: 2
                      timeout: "15"
                      tasks:
                        - fetch:
                            pipeline: check-disk
                            stage: package
                            job: rpm
                            source: rpms
                            is_file: no
                        - exec:
                            command: createrepo
                            arguments: ["/srv/repo/#{ENV}"]
                    smoke:
                      run_instances: 3
                      resources: [windows]
                      tasks:
                        - exec: {command: smoke-test}
        environments:
          dev:
            environment_variables:
              REPO: /srv/repo/dev
            secure_variables:
              REPO_PASSWORD: hunter2
            pipelines: [check-disk, createrepo-dev]
            agents: [agent-1]
        """

    /// The smallest valid pipeline, `build`; errors tests add lines after it (it has 9 lines).
    static let build = """
        pipelines:
          build:
            materials:
              src:
                git: https://example.com/build.git
            stages:
              - compile:
                  tasks:
                    - exec: {command: make}
        """
}
