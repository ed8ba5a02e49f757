import Foundation
import Shared

/// Builds the message a worker needs for one job run: the job's tasks and artifacts, the
/// pipeline's git materials at the revisions the instance pinned, and the variables merged with
/// GoCD's precedence (environment < pipeline < stage < job).
struct JobMessageBuilder: Sendable {
    let serverURL: String
    /// Mints the artifact token of one job run.
    let token: @Sendable (ArtifactLocator, Int) -> String

    /// The message of `attempt` at a job run of `run`: `tasks` are the job's tasks with their fetches
    /// resolved, `dependencyVariables` the run's `GO_DEPENDENCY_*` (a variable of the config with
    /// the same name wins).
    func message(for attempt: JobAttempt, run: PipelineRun, pipeline: PipelineDefinition, stage: StageDefinition, job: JobDefinition,
                 environment: EnvironmentDefinition?, tasks: [TaskDefinition],
                 dependencyVariables: [EnvironmentVariable], previousRevisions: [String: String] = [:]) -> JobMessage {
        let id = attempt.jobRunID
        let materials: [MaterialCheckout] = pipeline.gitMaterials.map { git in
            MaterialCheckout(name: git.name, url: git.url, branch: git.branch,
                             revision: run.materialRevisions[git.name] ?? "",
                             destination: git.destination ?? "", shallowClone: git.shallowClone,
                             previousRevision: previousRevisions[git.name])
        }
        var levels = [Self.triggerVariables(run, pipeline: pipeline) + dependencyVariables, environment?.environmentVariables ?? [],
                      pipeline.environmentVariables, run.triggerVariables, stage.environmentVariables, job.environmentVariables]
        if let rerunOf = run.stageRun(named: id.stage, counter: id.stageCounter)?.rerunOfCounter {
            levels.append([EnvironmentVariable(name: "GO_RERUN_OF_STAGE_COUNTER", value: String(rerunOf))])
        }
        let runCount = run.job(id.key)?.runCount ?? 1
        return JobMessage(
            jobRunID: id, attempt: attempt.attempt, pipelineLabel: run.label, runCount: runCount, environment: pipeline.environment,
            resources: job.resources, materials: materials, cleanWorkspace: stage.cleanWorkspace,
            fetchMaterials: stage.fetchMaterials, tasks: tasks, environmentVariables: Self.merge(levels).map(Self.secureIfSecret),
            artifacts: job.artifacts, inactivityTimeoutSeconds: job.timeout.flatMap { $0 > 0 ? $0 * 60 : nil },
            serverURL: serverURL, artifactToken: token(id.artifactLocator(runCount: runCount), attempt.attempt))
    }

    /// GoCD's `GO_TRIGGER_USER` (who triggered the run: a user's name, `timer`, or `changes` for
    /// a material or upstream change) and `GO_PIPELINE_GROUP_NAME`.
    static func triggerVariables(_ run: PipelineRun, pipeline: PipelineDefinition) -> [EnvironmentVariable] {
        [EnvironmentVariable(name: "GO_TRIGGER_USER", value: run.cause.user ?? "changes"),
         EnvironmentVariable(name: "GO_PIPELINE_GROUP_NAME", value: pipeline.group)]
    }

    /// A variable whose value refers to a secret (`{{SECRET:[…][…]}}`) is secure, wherever it was
    /// declared: its value travels only to the agent holding the job, resolved. (Only secure
    /// variables are decrypted: a plain value that merely looks like `AES:…:…` stays as written.)
    static func secureIfSecret(_ variable: EnvironmentVariable) -> EnvironmentVariable {
        guard !variable.secure, variable.value.contains("{{SECRET:[") else { return variable }
        return EnvironmentVariable(name: variable.name, value: variable.value, secure: true)
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
