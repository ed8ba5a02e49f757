import Foundation
import GRDB
import Shared

/// Writes pipeline runs to their rows, touching only what a transition changed.
extension PipelineRunRows {
    /// Inserts a new run with its stages and any dispatched jobs.
    static func insert(_ run: PipelineRun, in db: Database) throws -> StoredPipelineRun {
        let cause = columns(of: run.cause)
        try db.execute(
            cached: """
                INSERT INTO pipeline_instances (pipeline_name, counter, label, trigger_cause, trigger_user,
                    trigger_upstream, material_revisions, state, result, created_at, completed_at, trigger_variables)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                run.pipelineName, run.counter, run.label, cause.kind, cause.user, cause.upstream,
                try JSONColumn.encode(run.materialRevisions), run.state.rawValue, run.result?.rawValue,
                StorageDate.text(run.createdAt), StorageDate.text(run.completedAt),
                // Secure values kept (MessageCodec reveals them): the jobs need them.
                run.triggerVariables.isEmpty ? nil : String(decoding: MessageCodec.encode(run.triggerVariables), as: UTF8.self),
            ])
        // No stage ids yet: `save` inserts every stage and job row.
        var stored = StoredPipelineRun(id: db.lastInsertedRowID, run: run, stageIDs: [], jobIDs: [:])
        try save(run, over: &stored, in: db)
        return stored
    }

    /// Brings the rows of `stored` up to `run`: updates the changed pipeline, stage and job rows
    /// and inserts the new ones.
    static func save(_ run: PipelineRun, over stored: inout StoredPipelineRun, in db: Database) throws {
        let old = stored.run
        if run.state != old.state || run.completedAt != old.completedAt {
            try db.execute(
                cached: "UPDATE pipeline_instances SET state = ?, result = ?, completed_at = ? WHERE id = ?",
                arguments: [run.state.rawValue, run.result?.rawValue, StorageDate.text(run.completedAt), stored.id])
        }
        let oldJobs = Dictionary(
            old.stages.flatMap { stage in stage.jobs.map { (key(of: $0, in: stage), $0) } },
            uniquingKeysWith: { first, _ in first })
        for (position, stage) in run.stages.enumerated() {
            let stageID: Int64
            if position < stored.stageIDs.count, stage.counter == old.stages[position].counter {
                stageID = stored.stageIDs[position]
                if stage != old.stages[position] { try update(stage, id: stageID, in: db) }
            } else if position < stored.stageIDs.count {
                // A new run of the stage (a re-run): its own row; the earlier run's row stays.
                stageID = try insert(stage, position: position, pipelineID: stored.id, in: db)
                stored.stageIDs[position] = stageID
            } else {
                stageID = try insert(stage, position: position, pipelineID: stored.id, in: db)
                stored.stageIDs.append(stageID)
            }
            for job in stage.jobs {
                let key = key(of: job, in: stage)
                if let jobID = stored.jobIDs[key] {
                    if let before = oldJobs[key], job != before { try update(job, from: before, id: jobID, in: db) }
                } else {
                    stored.jobIDs[key] = try insert(job, stageID: stageID, in: db)
                }
            }
        }
        stored.run = run
    }

    /// Appends the row that records one applied transition.
    static func recordTransition(_ event: PipelineEvent, pipelineID: Int64, at now: Date, in db: Database) throws {
        try db.execute(
            cached: "INSERT INTO transitions (pipeline_instance_id, event, at) VALUES (?, ?, ?)",
            arguments: [pipelineID, try TransitionText.of(event), StorageDate.text(now)])
    }

    private static func key(of job: JobRun, in stage: StageRun) -> JobKey {
        JobKey(stage: stage.name, stageCounter: stage.counter, job: job.name, runIndex: job.runIndex)
    }

    private static func insert(_ stage: StageRun, position: Int, pipelineID: Int64, in db: Database) throws -> Int64 {
        try db.execute(
            cached: """
                INSERT INTO stage_instances (pipeline_instance_id, position, name, counter, approval_type,
                    allow_only_on_success, approved_by, approved_at, job_plan, activation, state, result,
                    created_at, completed_at, rerun_of_counter)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                pipelineID, position, stage.name, stage.counter, stage.approvalType.rawValue,
                stage.allowOnlyOnSuccess, stage.approvedBy, StorageDate.text(stage.approvedAt), try JSONColumn.encode(stage.jobPlans),
                stage.activation.rawValue, stage.state.rawValue, stage.result?.rawValue, StorageDate.text(stage.createdAt),
                StorageDate.text(stage.completedAt), stage.rerunOfCounter,
            ])
        return db.lastInsertedRowID
    }

    private static func update(_ stage: StageRun, id: Int64, in db: Database) throws {
        try db.execute(
            cached: """
                UPDATE stage_instances SET approved_by = ?, approved_at = ?, activation = ?, state = ?,
                    result = ?, completed_at = ?
                WHERE id = ?
                """,
            arguments: [
                stage.approvedBy, StorageDate.text(stage.approvedAt), stage.activation.rawValue, stage.state.rawValue,
                stage.result?.rawValue, StorageDate.text(stage.completedAt), id,
            ])
    }

    private static func insert(_ job: JobRun, stageID: Int64, in db: Database) throws -> Int64 {
        try db.execute(
            cached: """
                INSERT INTO job_instances (stage_instance_id, name, run_index, run_count, state, result, agent_id,
                    attempt, scheduled_at, assigned_at, started_at, completed_at, original_stage_counter, abandoned_attempts)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                stageID, job.name, job.runIndex, job.runCount, job.state.rawValue, job.result.rawValue, job.agentID,
                job.attempt, StorageDate.text(job.scheduledAt), StorageDate.text(job.assignedAt), StorageDate.text(job.startedAt),
                StorageDate.text(job.completedAt), job.originalStageCounter, try abandonedColumn(job),
            ])
        return db.lastInsertedRowID
    }

    /// A new attempt has not been published yet: its dispatch mark is cleared, so that the
    /// reconcile pass publishes it if the dispatch that follows the commit does not.
    private static func update(_ job: JobRun, from before: JobRun, id: Int64, in db: Database) throws {
        if job.attempt != before.attempt || job.abandoned != before.abandoned {
            try db.execute(
                cached: "UPDATE job_instances SET abandoned_attempts = ?, dispatched_at = NULL WHERE id = ?",
                arguments: [try abandonedColumn(job), id])
        }
        try db.execute(
            cached: """
                UPDATE job_instances SET state = ?, result = ?, agent_id = ?, attempt = ?, scheduled_at = ?,
                    assigned_at = ?, started_at = ?, completed_at = ?
                WHERE id = ?
                """,
            arguments: [
                job.state.rawValue, job.result.rawValue, job.agentID, job.attempt, StorageDate.text(job.scheduledAt),
                StorageDate.text(job.assignedAt), StorageDate.text(job.startedAt), StorageDate.text(job.completedAt), id,
            ])
    }

    private static func abandonedColumn(_ job: JobRun) throws -> String? {
        job.abandoned.isEmpty ? nil : try JSONColumn.encode(job.abandoned)
    }
}
