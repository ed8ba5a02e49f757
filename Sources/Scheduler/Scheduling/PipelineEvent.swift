import Shared

/// Something that happened to a pipeline run; the input of its state machine.
///
/// Job events carry the attempt they belong to, so that events of an attempt the scheduler has
/// since abandoned are recognised as stale.
enum PipelineEvent: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The run was just created: start its first stage, or wait for its approval.
    case created
    /// An agent took `attempt` of the job.
    case jobAccepted(job: JobKey, attempt: Int, agent: String)
    /// The agent started running `attempt`'s tasks, as `agent` reports (nil: the agent's own
    /// `started` event, already checked). A report from another agent than the attempt's holder
    /// is ignored.
    case jobStarted(job: JobKey, attempt: Int, agent: String? = nil)
    /// `attempt` of the job ended with `result` (`passed`, `failed` or `cancelled`), reported
    /// by `agent` (nil: by the scheduler itself). A result from another agent than the one that
    /// accepted the attempt is stale.
    case jobFinished(job: JobKey, attempt: Int, result: JobResult, agent: String? = nil)
    /// The scheduler gave up `attempt` of the job for `reason` (its agent was lost, the broker
    /// handed its message back): the next attempt is dispatched.
    case jobAbandoned(job: JobKey, attempt: Int, reason: String)
    /// A person approved a manual stage.
    case approve(stage: String, user: String)
    /// A person cancelled the run.
    case cancel(user: String)
    /// A person ran an ended stage again (GoCD's re-run, run failed jobs, run selected jobs).
    case rerun(stage: String, jobs: RerunSelection, user: String)

    /// The event in a few words, for error messages and logs, e.g. `jobFinished build/1/compile/1#2 passed`.
    var description: String {
        switch self {
        case .created: "created"
        case .jobAccepted(let job, let attempt, let agent): "jobAccepted \(job)#\(attempt) by \(agent)"
        case .jobStarted(let job, let attempt, let agent): "jobStarted \(job)#\(attempt)" + (agent.map { " by \($0)" } ?? "")
        case .jobFinished(let job, let attempt, let result, let agent):
            "jobFinished \(job)#\(attempt) \(result.rawValue)" + (agent.map { " by \($0)" } ?? "")
        case .jobAbandoned(let job, let attempt, let reason): "jobAbandoned \(job)#\(attempt) (\(reason))"
        case .approve(let stage, let user): "approve \(stage) by \(user)"
        case .cancel(let user): "cancel by \(user)"
        case .rerun(let stage, let jobs, let user): "rerun \(stage) (\(jobs)) by \(user)"
        }
    }
}

/// Which jobs a stage re-run runs again; the others are copied from the stage run it repeats.
enum RerunSelection: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Every job (GoCD's stage re-run).
    case all
    /// The jobs that did not pass: failed or cancelled (GoCD's "run failed jobs").
    case failed
    /// These jobs, by name; a `run_instances` job by its name (every copy) or as
    /// `<job>-runInstance-<i>` (one copy) (GoCD's "run selected jobs").
    case named([String])

    var description: String {
        switch self {
        case .all: "all jobs"
        case .failed: "failed jobs"
        case .named(let names): names.joined(separator: ", ")
        }
    }
}
