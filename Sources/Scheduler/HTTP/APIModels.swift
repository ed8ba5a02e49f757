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

    init(_ run: PipelineRun) {
        name = run.pipelineName
        counter = run.counter
        label = run.label
        state = run.state.rawValue
        result = run.result?.rawValue
        switch run.cause {
        case .manual(let user): triggered_by = user
        case .materialChange: triggered_by = "changes"
        case .upstream(let pipeline, let counter, let stage): triggered_by = "\(pipeline)/\(counter)/\(stage)"
        }
        created_at = run.createdAt
        completed_at = run.completedAt
        material_revisions = run.materialRevisions
        stages = run.stages.map(StageRunJSON.init)
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
        jobs = stage.jobs.map(JobRunJSON.init)
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

    init(_ agent: Agent) {
        uuid = agent.uuid
        hostname = agent.name
        // What an administrator set (the agent applies it at once, or with its next heartbeat),
        // else the agent's own.
        resources = agent.effectiveResources
        environments = agent.effectiveEnvironments
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

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
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
