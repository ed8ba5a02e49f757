import Shared
import Foundation

/// The JSON the API returns, in GoCD's spelling where GoCD has one (snake_case keys).
struct PipelineRunJSON: Encodable {
    let name: String
    let counter: Int
    let label: String
    let state: String
    let result: String?
    let triggered_by: String
    let created_at: Date
    let completed_at: Date?
    let material_revisions: [String: String]
    let stages: [StageRunJSON]
    /// GoCD's fields, for scripts written against GoCD: `natural_order` (the counter),
    /// `scheduled_date` (milliseconds since 1970) and `build_cause`.
    let natural_order: Double
    let scheduled_date: Int64
    let build_cause: BuildCauseJSON
    /// The commit each git material is at, with its message and the tracking tool's links
    /// (GoCD's modifications); only in the single-instance document.
    var modifications: [ModificationJSON]?

    struct ModificationJSON: Encodable {
        struct Link: Encodable {
            let text: String
            let url: String
        }
        let material: String
        let revision: String
        let user_name: String
        let email_address: String
        let modified_time: Date
        let comment: String
        let links: [Link]
    }

    struct BuildCauseJSON: Encodable {
        let trigger_message: String
        let trigger_forced: Bool
        let approver: String
    }

    init(_ run: PipelineRun) {
        name = run.pipelineName
        counter = run.counter
        label = run.label
        state = run.state.rawValue
        result = run.result?.rawValue
        let message: String
        switch run.cause {
        case .manual(let user):
            triggered_by = user
            message = "Forced by \(user)"
        case .materialChange:
            triggered_by = "changes"
            message = "modified by changes"
        case .upstream(let pipeline, let counter, let stage):
            triggered_by = "\(pipeline)/\(counter)/\(stage)"
            message = "triggered by \(pipeline)/\(counter)/\(stage)"
        }
        created_at = run.createdAt
        completed_at = run.completedAt
        material_revisions = run.materialRevisions
        stages = run.stages.map(StageRunJSON.init)
        natural_order = Double(run.counter)
        scheduled_date = Int64((run.createdAt.timeIntervalSince1970 * 1000).rounded())
        build_cause = BuildCauseJSON(trigger_message: message, trigger_forced: run.cause.user != nil,
                                     approver: run.cause.user ?? "")
    }
}

struct StageRunJSON: Encodable {
    let name: String
    let counter: Int
    let state: String
    let result: String?
    let approval_type: String
    let approved_by: String?
    /// GoCD's `rerun_of_counter`: the stage run this one repeats, null for a first run.
    let rerun_of_counter: Int?
    let jobs: [JobRunJSON]

    init(_ stage: StageRun) {
        name = stage.name
        counter = stage.counter
        state = stage.state.rawValue
        result = stage.result?.rawValue
        approval_type = stage.approvalType.rawValue
        approved_by = stage.approvedBy
        rerun_of_counter = stage.rerunOfCounter
        jobs = stage.jobs.map { JobRunJSON($0, in: stage) }
    }
}

struct JobRunJSON: Encodable {
    let name: String
    let run_index: Int
    let run_count: Int
    let state: String
    let result: String
    let agent_uuid: String?
    let attempt: Int
    let scheduled_at: Date
    let assigned_at: Date?
    let started_at: Date?
    let completed_at: Date?
    /// For a job copied into a re-run without running again: the stage counter it ran in.
    let original_stage_counter: Int?
    /// The attempts the scheduler gave up before the current one, and why.
    let abandoned_attempts: [AbandonedAttemptJSON]
    /// GoCD's: milliseconds since 1970 when the job was scheduled; whether it ran in a re-run.
    let scheduled_date: Int64
    var rerun: Bool

    init(_ job: JobRun) {
        name = job.name
        run_index = job.runIndex
        run_count = job.runCount
        state = job.state.rawValue
        result = job.result.rawValue
        agent_uuid = job.agentID
        attempt = job.attempt
        scheduled_at = job.scheduledAt
        assigned_at = job.assignedAt
        started_at = job.startedAt
        completed_at = job.completedAt
        original_stage_counter = job.originalStageCounter
        abandoned_attempts = job.abandoned.map(AbandonedAttemptJSON.init)
        scheduled_date = Int64((job.scheduledAt.timeIntervalSince1970 * 1000).rounded())
        rerun = false
    }

    /// A job of `stage`: `rerun` when the stage is a re-run and the job ran in it (not a copy).
    init(_ job: JobRun, in stage: StageRun) {
        self.init(job)
        rerun = stage.rerunOfCounter != nil && !job.isCopy
    }
}

struct AbandonedAttemptJSON: Encodable {
    let attempt: Int
    let agent_uuid: String?
    let reason: String
    let abandoned_at: Date

    init(_ abandoned: AbandonedAttempt) {
        attempt = abandoned.attempt
        agent_uuid = abandoned.agentID
        reason = abandoned.reason
        abandoned_at = abandoned.at
    }
}

struct AgentJSON: Encodable {
    let uuid: String
    let hostname: String
    let resources: [String]
    let environments: [String]
    let agent_state: String
    let last_heartbeat_at: Date?
    let current_job: String?

    init(_ agent: Agent, declaredEnvironments: [String] = []) {
        uuid = agent.uuid
        hostname = agent.name
        // What an administrator set (the agent applies it at once, or with its next heartbeat),
        // else the agent's own.
        resources = agent.effectiveResources
        environments = Array(Set(agent.effectiveEnvironments + declaredEnvironments)).sorted()
        agent_state = agent.state.rawValue
        last_heartbeat_at = agent.lastHeartbeatAt
        current_job = agent.currentJob
    }
}

/// GoCD's collection envelope: `{"_embedded": {"<name>": [...]}}`.
struct Embedded<Item: Encodable>: Encodable {
    let key: String
    let items: [Item]
    let extra: [String: Int]
    /// Also at the top level, as `{"<name>": [...]}`: GoCD's own shape for some lists (the
    /// pipeline history), so that scripts written against GoCD find them.
    var alsoTopLevel = false

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        if alsoTopLevel { try container.encode(items, forKey: DynamicKey(key)) }
        var embedded = container.nestedContainer(keyedBy: DynamicKey.self, forKey: DynamicKey("_embedded"))
        try embedded.encode(items, forKey: DynamicKey(key))
        for (name, value) in extra { try container.encode(value, forKey: DynamicKey(name)) }
    }
}

struct DynamicKey: CodingKey {
    let stringValue: String
    init(_ value: String) { stringValue = value }
    init?(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}

/// `{"message": "..."}`, GoCD's error and acknowledgement body.
struct MessageJSON: Encodable {
    let message: String
}
