import Foundation
import Shared

/// Builds the message a worker needs for one job run: the job's tasks and artifacts, the
/// pipeline's git materials at the revisions the instance pinned, and the variables merged with
/// GoCD's precedence (environment < pipeline < stage < job).
struct JobMessageBuilder {
    let serverURL: String
    /// Mints the artifact token of one job run.
    let token: @Sendable (ArtifactLocator) -> String

    /// The message, or nil if the config no longer has the stage or job (the caller fails the job).
    func message(for id: JobRunID, run: PipelineRun, pipeline: PipelineDefinition,
                 environment: EnvironmentDefinition?) -> JobMessage? {
        guard let stage = pipeline.stages.first(where: { $0.name == id.stage }),
              let job = stage.jobs.first(where: { $0.name == id.job }) else { return nil }
        let materials: [MaterialCheckout] = pipeline.gitMaterials.map { git in
            MaterialCheckout(name: git.name, url: git.url, branch: git.branch,
                             revision: run.materialRevisions[git.name] ?? "",
                             destination: git.destination ?? "", shallowClone: git.shallowClone)
        }
        var variables = Self.merge([environment?.environmentVariables ?? [], pipeline.environmentVariables,
                                    stage.environmentVariables, job.environmentVariables])
        if let rerunOf = run.stageRun(named: id.stage, counter: id.stageCounter)?.rerunOfCounter {
            variables = Self.merge([variables, [EnvironmentVariable(name: "GO_RERUN_OF_STAGE_COUNTER", value: String(rerunOf))]])
        }
        var message = JobMessage(
            jobRunID: id, pipelineLabel: run.label, runCount: run.job(id.key)?.runCount ?? 1, environment: pipeline.environment,
            resources: job.resources, materials: materials, cleanWorkspace: stage.cleanWorkspace,
            fetchMaterials: stage.fetchMaterials, tasks: job.tasks, environmentVariables: variables,
            artifacts: job.artifacts, inactivityTimeoutSeconds: job.timeout.flatMap { $0 > 0 ? $0 * 60 : nil },
            serverURL: serverURL, artifactToken: "")
        message.artifactToken = token(message.artifactLocator)
        return message
    }

    /// Later lists override earlier ones by name; order of first appearance is kept.
    static func merge(_ levels: [[EnvironmentVariable]]) -> [EnvironmentVariable] {
        var order: [String] = []
        var byName: [String: EnvironmentVariable] = [:]
        for level in levels {
            for variable in level {
                if byName[variable.name] == nil { order.append(variable.name) }
                byName[variable.name] = variable
            }
        }
        return order.compactMap { byName[$0] }
    }
}
