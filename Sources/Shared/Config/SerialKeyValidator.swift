/// Checks that jobs sharing a `serial` key need the same environment and resources: their runs
/// share one queue (`relevo.serial.<key>`), which only agents meeting one requirement consume.
/// Otherwise, say, a `pro` job could run on a `dev` agent with `pro`'s secure variables.
struct SerialKeyValidator {
    /// The pipelines that agree with the first user of each key; the others are reported and left out.
    func validate(_ pipelines: [PipelineDefinition], log: ConfigIssueLog) -> [PipelineDefinition] {
        var firstUse: [String: (environment: String, resources: [String], job: String)] = [:]
        return pipelines.filter { pipeline in
            let environment = pipeline.environment?.lowercased() ?? "(none)"
            for stage in pipeline.stages {
                for job in stage.jobs {
                    guard let key = job.serial else { continue }
                    let place = "\(pipeline.name)/\(stage.name)/\(job.name)"
                    guard let first = firstUse[key] else {
                        firstUse[key] = (environment, job.resources, place)
                        continue
                    }
                    if first.environment != environment || first.resources != job.resources {
                        log.add(ConfigError(
                            .invalidValue, at: pipeline.origin,
                            "job '\(place)' uses serial key '\(key)' in environment \(environment) with resources \(job.resources), but job '\(first.job)' uses it in environment \(first.environment) with resources \(first.resources); jobs that share a serial key must need the same environment and resources",
                            pipeline: pipeline.name))
                        return false
                    }
                }
            }
            return true
        }
    }
}
