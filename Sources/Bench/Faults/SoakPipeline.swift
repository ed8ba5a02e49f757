import Foundation

/// The pipeline the fault suite runs, `soak`: four stages with parallel jobs (`run_instances`),
/// an artifact fetched by the next stage and checked against its checksum, and a `serial:` job.
/// Its tasks write what they did to a journal folder all workers share (they run on this
/// machine), so the suite can check what really ran, besides what the scheduler recorded:
///
/// - `done`: one line per task that ran to its end: `<counter> <stage> <job> <run index> <attempt>`;
/// - `overlaps`: one line per `serial:` task that found another one running (a `flock` taken
///   without waiting; the kernel releases it when the holder dies, however it dies);
/// - `checksums`: one line per fetched artifact whose checksum did not match.
enum SoakPipeline {
    static let name = "soak"
    static let serialKey = "soak-repo"
    /// The schedule body's pinned revision for the (never fetched) material.
    static let revisions = ["src": String(repeating: "0", count: 40)]
    /// The stages and their jobs (job name, copies), as the checks expect them.
    static let plan: [(stage: String, jobs: [(name: String, copies: Int)])] = [
        ("build", [("make", 1), ("lint", 2)]),
        ("test", [("verify", 1), ("unit", 2)]),
        ("publish", [("createrepo", 1)]),
        ("deploy", [("notify", 1)]),
    ]

    static func file(journal: URL) -> String {
        let log = journal.path
        let done = "echo \\\"$GO_PIPELINE_COUNTER $GO_STAGE_NAME $GO_JOB_NAME ${GO_JOB_RUN_INDEX:-1} $RELEVO_JOB_ATTEMPT\\\" >> \(log)/done"
        // A pause of 0.2–1 s, from the shell's own random numbers: a window for faults to land in.
        let pause = "sleep 0.$(( (RANDOM % 8) + 2 ))"
        return """
        format_version: 10
        pipelines:
          \(name):
            materials:
              src: {git: "file:///nonexistent/soak.git", auto_update: false}
            stages:
              - build:
                  fetch_materials: false
                  jobs:
                    make:
                      artifacts:
                        - build: {source: out}
                      tasks:
                        - exec: {command: /bin/bash, arguments: ["-c", "set -e; mkdir -p out; head -c 65536 /dev/urandom > out/data.bin; (cd out && sha256sum data.bin > data.sha256); \(pause); \(done)"]}
                    lint:
                      run_instances: 2
                      tasks:
                        - exec: {command: /bin/bash, arguments: ["-c", "\(pause); \(done)"]}
              - test:
                  fetch_materials: false
                  jobs:
                    verify:
                      tasks:
                        - fetch: {stage: build, job: make, source: out, destination: got}
                        - exec: {command: /bin/bash, arguments: ["-c", "cd got/out && sha256sum -c --quiet data.sha256 || { echo \\\"$GO_PIPELINE_COUNTER\\\" >> \(log)/checksums; exit 1; }; \(pause); \(done)"]}
                    unit:
                      run_instances: 2
                      tasks:
                        - exec: {command: /bin/bash, arguments: ["-c", "\(pause); \(done)"]}
              - publish:
                  fetch_materials: false
                  jobs:
                    createrepo:
                      serial: \(serialKey)
                      tasks:
                        - exec: {command: /bin/bash, arguments: ["-c", "flock --nonblock \(log)/serial.lock -c 'sleep 0.3' || { echo \\\"$GO_PIPELINE_COUNTER\\\" >> \(log)/overlaps; exit 1; }; \(done)"]}
              - deploy:
                  fetch_materials: false
                  jobs:
                    notify:
                      tasks:
                        - exec: {command: /bin/bash, arguments: ["-c", "\(done)"]}

        """
    }
}
