import Shared

/// Something that happened to a pipeline run; the input of its state machine.
///
/// Job events carry the attempt they belong to, so that events from a delivery the broker has
/// since handed to another worker are recognised as stale.
enum PipelineEvent: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The run was just created: start its first stage, or wait for its approval.
    case created
    /// An agent took `attempt` of the job.
    case jobAccepted(job: JobKey, attempt: Int, agent: String)
    /// The agent started running `attempt`'s tasks.
    case jobStarted(job: JobKey, attempt: Int)
    /// `attempt` of the job ended with `result` (`passed`, `failed` or `cancelled`).
    case jobFinished(job: JobKey, attempt: Int, result: JobResult)
    /// The broker gave the job to another worker as `attempt`.
    case jobRedelivered(job: JobKey, attempt: Int)
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
        case .jobStarted(let job, let attempt): "jobStarted \(job)#\(attempt)"
        case .jobFinished(let job, let attempt, let result): "jobFinished \(job)#\(attempt) \(result.rawValue)"
        case .jobRedelivered(let job, let attempt): "jobRedelivered \(job)#\(attempt)"
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
