extension ConfigSnapshot {
    /// One line per pipeline, grouped, for people: `relevo validate` and
    /// `relevo-scheduler validate` print it.
    public var summary: String {
        var lines = ["\(pipelines.count) pipelines in \(files.count) files, \(environments.count) environments"]
        let groups = Dictionary(grouping: pipelines, by: \.group)
        for group in groups.keys.sorted() {
            lines.append("\(group):")
            for pipeline in groups[group]!.sorted(by: { $0.name < $1.name }) {
                let stages = pipeline.stages.map { stage in
                    stage.approval.type == .manual ? "\(stage.name) (manual)" : stage.name
                }
                let environment = pipeline.environment.map { " [\($0)]" } ?? ""
                lines.append("  \(pipeline.name)\(environment): \(stages.joined(separator: " → "))")
            }
        }
        return lines.joined(separator: "\n")
    }
}
