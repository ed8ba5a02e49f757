import Foundation
import GRDB
import Shared

/// Reads pipeline runs from their rows: `pipeline_instances`, `stage_instances`, `job_instances`.
/// Writing is in `PipelineRunRows+Writing.swift`.
enum PipelineRunRows {
    /// The run `pipeline`/`counter`, or `nil` if there is none.
    static func load(pipeline: String, counter: Int, in db: Database) throws -> StoredPipelineRun? {
        let row = try Row.fetchOne(
            db, cached: "SELECT * FROM pipeline_instances WHERE pipeline_name = ? AND counter = ?",
            arguments: [pipeline, counter])
        return try row.map { try load(row: $0, in: db) }
    }

    /// The run whose `pipeline_instances` row is `row`, with its stages and jobs.
    static func load(row: Row, in db: Database) throws -> StoredPipelineRun {
        let id: Int64 = try row.value("id")
        let stageRows = try Row.fetchAll(
            db, cached: "SELECT * FROM stage_instances WHERE pipeline_instance_id = ? ORDER BY position, counter",
            arguments: [id])
        let jobRows = try Row.fetchAll(
            db,
            cached: """
                SELECT j.* FROM job_instances j JOIN stage_instances s ON s.id = j.stage_instance_id
                WHERE s.pipeline_instance_id = ? ORDER BY j.id
                """,
            arguments: [id])
        var jobsByStage: [Int64: [(id: Int64, job: JobRun)]] = [:]
        for jobRow in jobRows {
            jobsByStage[try jobRow.value("stage_instance_id"), default: []].append(
                (try jobRow.value("id"), try job(from: jobRow)))
        }
        // Rows come by position, then counter: the last row of a position is the stage's current
        // run, the ones before it runs that were run again.
        var stages: [StageRun] = []
        var previousStages: [StageRun] = []
        var stageIDs: [Int64] = []
        var jobIDs: [JobKey: Int64] = [:]
        var lastPosition: Int?
        for stageRow in stageRows {
            let stageID: Int64 = try stageRow.value("id")
            let position: Int = try stageRow.value("position")
            let jobs = jobsByStage[stageID] ?? []
            let stage = try self.stage(from: stageRow, jobs: jobs.map(\.job))
            for (jobID, job) in jobs {
                jobIDs[JobKey(stage: stage.name, stageCounter: stage.counter, job: job.name, runIndex: job.runIndex)] =
                    jobID
            }
            if position == lastPosition, let superseded = stages.popLast() {
                previousStages.append(superseded)
                stageIDs.removeLast()
            }
            stages.append(stage)
            stageIDs.append(stageID)
            lastPosition = position
        }
        let run = PipelineRun(
            pipelineName: try row.value("pipeline_name"), counter: try row.value("counter"),
            label: try row.value("label"), cause: try cause(from: row),
            materialRevisions: try row.json("material_revisions"), triggerVariables: try triggerVariables(from: row),
            createdAt: try row.value("created_at"), completedAt: try row.value("completed_at"), stages: stages,
            previousStages: previousStages)
        return StoredPipelineRun(id: id, run: run, stageIDs: stageIDs, jobIDs: jobIDs)
    }

    /// The variables given when the run was triggered (none for a NULL column).
    static func triggerVariables(from row: Row) throws -> [EnvironmentVariable] {
        guard let text: String = try row.value("trigger_variables") else { return [] }
        return try JSONDecoder().decode([EnvironmentVariable].self, from: Data(text.utf8))
    }

    /// A job run from its `job_instances` row.
    static func job(from row: Row) throws -> JobRun {
        JobRun(
            name: try row.value("name"), runIndex: try row.value("run_index"), runCount: try row.value("run_count"),
            state: try row.enumValue("state"), result: try row.enumValue("result"),
            agentID: try row.value("agent_id"), attempt: try row.value("attempt"),
            scheduledAt: try row.value("scheduled_at"), assignedAt: try row.value("assigned_at"),
            startedAt: try row.value("started_at"), completedAt: try row.value("completed_at"),
            originalStageCounter: try row.value("original_stage_counter"),
            abandoned: try (row.value("abandoned_attempts") as String?).map { try JSONColumn.decode([AbandonedAttempt].self, from: $0) } ?? [])
    }

    private static func stage(from row: Row, jobs: [JobRun]) throws -> StageRun {
        StageRun(
            name: try row.value("name"), counter: try row.value("counter"),
            approvalType: try row.enumValue("approval_type") as ApprovalDefinition.ApprovalType,
            allowOnlyOnSuccess: try row.value("allow_only_on_success"), approvedBy: try row.value("approved_by"),
            approvedAt: try row.value("approved_at"), jobPlans: try row.json("job_plan"),
            activation: try row.enumValue("activation"), jobs: jobs, createdAt: try row.value("created_at"),
            completedAt: try row.value("completed_at"), rerunOfCounter: try row.value("rerun_of_counter"))
    }

    private static func cause(from row: Row) throws -> TriggerCause {
        switch try row.value("trigger_cause") as String {
        case "manual":
            return .manual(user: try row.value("trigger_user"))
        case "materialChange":
            return .materialChange
        default:
            let text: String = try row.value("trigger_upstream")
            let parts = text.split(separator: "/").map(String.init)
            guard parts.count == 3, let counter = Int(parts[1]) else {
                throw StoreError(
                    code: .corruptRow, operation: "read trigger_upstream",
                    message: "expected pipeline/counter/stage, found '\(text)'")
            }
            return .upstream(pipeline: parts[0], counter: counter, stage: parts[2])
        }
    }

    /// The `trigger_cause`, `trigger_user` and `trigger_upstream` columns of a cause.
    static func columns(of cause: TriggerCause) -> (kind: String, user: String?, upstream: String?) {
        switch cause {
        case .manual(let user): ("manual", user, nil)
        case .materialChange: ("materialChange", nil, nil)
        case .upstream(let pipeline, let counter, let stage): ("upstream", nil, "\(pipeline)/\(counter)/\(stage)")
        }
    }
}
