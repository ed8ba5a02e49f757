/// The pipeline definitions the benchmark loads: no-op jobs (`/bin/true`) whose git material is
/// never fetched (`auto_update: false`, `fetch_materials: false`), scheduled pinned to a dummy
/// revision, so that only Relevo's own work is measured.
enum BenchPipelines {
    static let idle = "bench-idle"
    static let stages = "bench-stages"
    static let wide = "bench-wide"
    static let stageCount = 10
    static let wideJobs = 10
    /// The schedule body's pinned revision for material `src`.
    static let revisions = ["src": String(repeating: "0", count: 40)]

    /// bench-idle (one job), bench-stages (10 one-job stages), bench-wide (10 parallel jobs).
    static var benchFile: String {
        var text = "format_version: 10\npipelines:\n"
        text += pipeline(idle, stages: [("run", ["noop"])])
        text += pipeline(stages, stages: (1...stageCount).map { ("stage-\(twoDigits($0))", ["noop"]) })
        text += pipeline(wide, stages: [("run", (1...wideJobs).map { "job-\(twoDigits($0))" })])
        return text
    }

    /// `count` more small pipelines (two stages, one job each), for the scheduler's memory with
    /// a large config.
    static func manyFile(count: Int) -> String {
        var text = "format_version: 10\npipelines:\n"
        for index in 1...count {
            text += pipeline("filler-\(index)", stages: [("build", ["compile"]), ("test", ["unit"])])
        }
        return text
    }

    static func fillerName(_ index: Int) -> String { "filler-\(index)" }

    private static func pipeline(_ name: String, stages: [(name: String, jobs: [String])]) -> String {
        var text = """
          \(name):
            materials:
              src: {git: "file:///nonexistent/bench.git", auto_update: false}
            stages:

        """
        for stage in stages {
            text += """
                  - \(stage.name):
                      fetch_materials: false
                      jobs:

            """
            for job in stage.jobs {
                text += """
                            \(job):
                              tasks:
                                - exec: {command: /bin/true}

                """
            }
        }
        return text
    }

    private static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
