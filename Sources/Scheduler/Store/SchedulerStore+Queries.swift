import Shared
import Foundation
import GRDB

/// What the HTTP layer and the recovery pass read.
extension SchedulerStore {
    /// Run `pipeline`/`counter` with its stages and jobs, or `nil` if there is none.
    func pipelineRun(_ pipeline: String, counter: Int) async throws(StoreError) -> PipelineRun? {
        try await read("load \(pipeline)/\(counter)") { db in
            try PipelineRunRows.load(pipeline: pipeline, counter: counter, in: db)?.run
        }
    }

    /// A page of `pipeline`'s runs, newest (highest counter) first.
    func history(of pipeline: String, limit: Int, offset: Int = 0) async throws(StoreError) -> PipelineHistoryPage {
        let limit = max(0, limit)
        let offset = max(0, offset)
        return try await read("history of \(pipeline)") { db in
            let total =
                try Int.fetchOne(
                    db, cached: "SELECT COUNT(*) FROM pipeline_instances WHERE pipeline_name = ?", arguments: [pipeline])
                ?? 0
            let rows = try Row.fetchAll(
                db,
                cached: """
                    SELECT * FROM pipeline_instances WHERE pipeline_name = ?
                    ORDER BY counter DESC LIMIT ? OFFSET ?
                    """,
                arguments: [pipeline, limit, offset])
            let runs = try rows.map { try PipelineRunRows.load(row: $0, in: db).run }
            return PipelineHistoryPage(runs: runs, total: total, offset: offset, limit: limit)
        }
    }

    /// Every job run that is scheduled, assigned or building, oldest first: after a restart, the
    /// scheduler re-derives from these what is in flight (republish, wait, or declare lost).
    func jobsInFlight() async throws(StoreError) -> [InFlightJob] {
        try await read("list jobs in flight") { db in
            let rows = try Row.fetchAll(
                db,
                cached: """
                    SELECT j.*, s.name AS stage_name, s.counter AS stage_counter,
                        p.pipeline_name, p.counter AS pipeline_counter
                    FROM job_instances j
                    JOIN stage_instances s ON s.id = j.stage_instance_id
                    JOIN pipeline_instances p ON p.id = s.pipeline_instance_id
                    WHERE j.state <> 'completed'
                    ORDER BY j.scheduled_at, j.id
                    """)
            return try rows.map { row in
                let job = try PipelineRunRows.job(from: row)
                return InFlightJob(attempt: try currentAttempt(of: job, row: row), job: job)
            }
        }
    }

    /// The transitions applied to run `pipeline`/`counter`, oldest first.
    func transitions(of pipeline: String, counter: Int) async throws(StoreError) -> [TransitionRecord] {
        try await read("transitions of \(pipeline)/\(counter)") { db in
            let rows = try Row.fetchAll(
                db,
                cached: """
                    SELECT t.event, t.at FROM transitions t
                    JOIN pipeline_instances p ON p.id = t.pipeline_instance_id
                    WHERE p.pipeline_name = ? AND p.counter = ? ORDER BY t.id
                    """,
                arguments: [pipeline, counter])
            return try rows.map { TransitionRecord(event: try $0.json("event"), at: try $0.value("at")) }
        }
    }
}

/// The current attempt of a job read from a row that also has `stage_name`, `stage_counter`,
/// `pipeline_name` and `pipeline_counter`.
func currentAttempt(of job: JobRun, row: Row) throws -> JobAttempt {
    JobAttempt(
        jobRunID: JobRunID(pipeline: try row.value("pipeline_name"), pipelineCounter: try row.value("pipeline_counter"),
                           stage: try row.value("stage_name"), stageCounter: try row.value("stage_counter"), job: job.name,
                           runIndex: job.runIndex),
        attempt: job.attempt)
}

extension SchedulerStore {
    /// Scheduled job runs whose message was never confirmed by the broker, oldest first.
    func jobsAwaitingDispatch() async throws(StoreError) -> [InFlightJob] {
        try await scheduledJobs("list jobs awaiting dispatch", where: "j.dispatched_at IS NULL")
    }

    /// Scheduled job runs whose message the broker confirmed before `cutoff` and no agent has
    /// taken since, oldest first.
    func jobsDispatched(before cutoff: Date) async throws(StoreError) -> [InFlightJob] {
        try await scheduledJobs("list jobs dispatched and not taken", where: "j.dispatched_at IS NOT NULL AND j.dispatched_at < ?",
                                arguments: [StorageDate.text(cutoff) as String])
    }

    /// Scheduled job runs that also meet `condition` (on `job_instances j`), oldest first.
    private func scheduledJobs(_ operation: String, where condition: String,
                               arguments: StatementArguments = []) async throws(StoreError) -> [InFlightJob] {
        try await read(operation) { db in
            let rows = try Row.fetchAll(
                db,
                cached: """
                    SELECT j.*, s.name AS stage_name, s.counter AS stage_counter,
                        p.pipeline_name, p.counter AS pipeline_counter
                    FROM job_instances j
                    JOIN stage_instances s ON s.id = j.stage_instance_id
                    JOIN pipeline_instances p ON p.id = s.pipeline_instance_id
                    WHERE j.state = 'scheduled' AND \(condition)
                    ORDER BY j.scheduled_at, j.id
                    """,
                arguments: arguments)
            return try rows.map { row in
                let job = try PipelineRunRows.job(from: row)
                return InFlightJob(attempt: try currentAttempt(of: job, row: row), job: job)
            }
        }
    }

    /// Job runs accepted (assigned or building) by an agent that has lost contact, with the agent.
    func jobsHeldByLostAgents() async throws(StoreError) -> [(job: InFlightJob, agent: Agent)] {
        try await read("list jobs held by lost agents") { db in
            let rows = try Row.fetchAll(
                db,
                cached: """
                    SELECT j.*, s.name AS stage_name, s.counter AS stage_counter,
                        p.pipeline_name, p.counter AS pipeline_counter,
                        a.name AS holder_name, a.last_heartbeat_at AS holder_last_heartbeat_at
                    FROM job_instances j
                    JOIN stage_instances s ON s.id = j.stage_instance_id
                    JOIN pipeline_instances p ON p.id = s.pipeline_instance_id
                    JOIN agents a ON a.uuid = j.agent_id
                    WHERE j.state IN ('assigned', 'building') AND a.state = 'lostContact'
                    ORDER BY j.scheduled_at, j.id
                    """)
            return try rows.map { row in
                let job = try PipelineRunRows.job(from: row)
                let agent = Agent(uuid: try row.value("agent_id"), name: try row.value("holder_name"), state: .lostContact,
                                  lastHeartbeatAt: try row.value("holder_last_heartbeat_at"))
                return (InFlightJob(attempt: try currentAttempt(of: job, row: row), job: job), agent)
            }
        }
    }

    /// Records that the broker confirmed the messages of these job runs of one pipeline instance.
    func markDispatched(_ jobs: [JobKey], pipeline: String, counter: Int, at now: Date) async throws(StoreError) {
        try await write("mark \(jobs.count) jobs of \(pipeline)/\(counter) dispatched") { db in
            for job in jobs {
                let id = try Self.jobID(of: job, pipeline: pipeline, counter: counter, in: db)
                try db.execute(cached: "UPDATE job_instances SET dispatched_at = ? WHERE id = ?", arguments: [StorageDate.text(now), id])
            }
        }
    }
}
