import Foundation
import HTTPTypes
import Shared

/// A refusal with its HTTP status.
struct APIError: Error {
    let status: HTTPResponse.Status
    let message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

struct ScheduleRequest: Decodable {
    struct Material: Decodable {
        let name: String
        let revision: String
    }
    /// GoCD's shape: `{"name", "value", "secure"?}`.
    struct Variable: Decodable {
        let name: String
        let value: String
        let secure: Bool?
    }
    let materials: [Material]?
    let environment_variables: [Variable]?
    /// GoCD's: false runs on the revisions last seen (the newest instance's) instead of asking
    /// the repositories first.
    let update_materials_before_scheduling: Bool?
}

struct JobHistoryJSON: Encodable {
    let pipeline_name: String
    let pipeline_counter: Int
    let stage_name: String
    let stage_counter: Int
    let job: JobRunJSON
}

struct JobHistoryPageJSON: Encodable {
    struct Pagination: Encodable {
        let offset: Int
        let total: Int
        let page_size: Int
    }
    let jobs: [JobHistoryJSON]
    let pagination: Pagination
}

/// One run of a stage in GoCD's stage history: the stage's own document, with the instance it
/// ran in beside its fields.
struct StageHistoryJSON: Encodable {
    let stage: StageRunJSON
    let pipeline_name: String
    let pipeline_counter: Int
    let pipeline_label: String

    private enum Keys: String, CodingKey { case pipeline_name, pipeline_counter, pipeline_label }

    init(_ stage: StageRun, of run: PipelineRun) {
        self.stage = StageRunJSON(stage)
        pipeline_name = run.pipelineName
        pipeline_counter = run.counter
        pipeline_label = run.label
    }

    func encode(to encoder: any Encoder) throws {
        try stage.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(pipeline_name, forKey: .pipeline_name)
        try container.encode(pipeline_counter, forKey: .pipeline_counter)
        try container.encode(pipeline_label, forKey: .pipeline_label)
    }
}

struct StageHistoryPageJSON: Encodable {
    let stages: [StageHistoryJSON]
    let pagination: JobHistoryPageJSON.Pagination
}

struct DashboardGroupJSON: Encodable {
    let name: String
    let pipelines: [String]
}

struct DashboardPipelineJSON: Encodable {
    let name: String
    let group: String
    let paused: Bool
    let paused_by: String?
    let pause_reason: String?
    let latest_instance: PipelineRunJSON?
}

struct DashboardJSON: Encodable {
    let pipeline_groups: [DashboardGroupJSON]
    let pipelines: [DashboardPipelineJSON]
}

/// GoCD's agent update body. `resources` and `environments` tell absent (`nil`: unchanged) from
/// null (`.some(nil)`: the agent's own again); resources may also be one comma-separated string.
struct AgentUpdateRequest: Decodable {
    let agent_config_state: String?
    let resources: [String]??
    let environments: [String]??

    private enum Keys: String, CodingKey { case agent_config_state, resources, environments }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        agent_config_state = try container.decodeIfPresent(String.self, forKey: .agent_config_state)
        resources = try Self.names(container, .resources)
        environments = try Self.names(container, .environments)
    }

    private static func names(_ container: KeyedDecodingContainer<Keys>, _ key: Keys) throws -> [String]?? {
        guard container.contains(key) else { return nil }
        if try container.decodeNil(forKey: key) { return .some(nil) }
        if let list = try? container.decode([String].self, forKey: key) { return .some(list.filter { !$0.isEmpty }) }
        guard let text = try? container.decode(String.self, forKey: key) else {
            throw APIError(.badRequest, "'\(key.rawValue)' must be a list of names or one comma-separated string, "
                + "e.g. [\"linux\", \"rpm\"] or \"linux,rpm\" (null gives the agent back its own)")
        }
        return .some(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }
}

struct RunSelectedJobsRequest: Decodable {
    let jobs: [String]
}

/// GoCD's acknowledgement of a job re-run, plus the new stage run's counter.
struct RerunJSON: Encodable {
    let message: String
    let stage_counter: Int
}

struct PauseRequest: Decodable {
    let pause_cause: String?
}

struct QueueJSON: Encodable {
    let name: String
    /// Ready messages.
    let messages: Int
    /// Delivered, not acked yet; absent without the broker's management API.
    let messages_unacknowledged: Int?
    let consumers: Int
    let single_active_consumer: Bool
    /// The connection whose consumer is active, for a single-active-consumer queue (management API only).
    let active_consumer: String?
    /// A quorum queue's leader, members and online members (management API only; absent without).
    let leader: String?
    let members: [String]?
    let online: [String]?

    init(_ report: QueueReport) {
        name = report.name
        messages = report.ready
        messages_unacknowledged = report.unacknowledged
        consumers = report.consumers
        single_active_consumer = report.singleActiveConsumer
        active_consumer = report.activeConsumer
        leader = report.leader
        members = report.members.isEmpty ? nil : report.members
        online = report.members.isEmpty ? nil : report.online
    }
}

struct ScheduledJSON: Encodable {
    let message: String
    let counter: Int
    let label: String
}

/// A message read from `relevo.dead`.
struct DeadLetterJSON: Encodable {
    let id: Int64
    let received_at: Date
    let kind: String
    let original_queue: String
    let reason: String
    let message_id: String?
    let job_run_id: String?
    let outcome: String
    let body: String

    init(_ record: DeadLetterRecord) {
        id = record.id
        received_at = record.receivedAt
        kind = record.letter.kind.rawValue
        original_queue = record.letter.originalQueue
        reason = record.letter.reason
        message_id = record.letter.messageID
        job_run_id = record.letter.jobRunID?.description
        outcome = record.outcome
        body = record.letter.bodyPrefix
    }
}

/// A pipeline's config as `GET /go/api/admin/pipelines/:name` shows it (a subset of GoCD's).
struct PipelineConfigJSON: Encodable {
    struct Origin: Encodable { let file: String; let line: Int }
    struct Material: Encodable { let name: String; let type: String; let url: String?; let branch: String?; let pipeline: String?; let stage: String? }
    struct Stage: Encodable { let name: String; let jobs: [String] }
    let name: String
    let group: String
    let origin: Origin
    let materials: [Material]
    let stages: [Stage]

    init(_ pipeline: PipelineDefinition) {
        name = pipeline.name
        group = pipeline.group
        origin = Origin(file: pipeline.origin.file, line: pipeline.origin.line)
        materials = pipeline.gitMaterials.map { Material(name: $0.name, type: "git", url: GitURL.redacted($0.url), branch: $0.branch, pipeline: nil, stage: nil) }
            + pipeline.dependencyMaterials.map { Material(name: $0.name, type: "dependency", url: nil, branch: nil, pipeline: $0.pipeline, stage: $0.stage) }
        stages = pipeline.stages.map { Stage(name: $0.name, jobs: $0.jobs.map(\.name)) }
    }
}
