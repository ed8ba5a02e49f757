import Shared
import Foundation
import GRDB

/// Console output of jobs, streamed by workers in numbered chunks.
extension SchedulerStore {
    /// Stores chunk `sequence` of `attempt`'s console output. A chunk already stored (a
    /// redelivered event) is kept as first written.
    ///
    /// - Returns: whether the chunk was new.
    /// - Throws: ``StoreError`` with code `notFound` if the job run does not exist.
    @discardableResult
    func appendConsole(
        _ text: String, sequence: Int, attempt: Int, job: JobKey, pipeline: String, counter: Int
    ) async throws(StoreError) -> Bool {
        try await write("append console of \(pipeline)/\(counter)/\(job)") { db in
            let jobID = try Self.jobID(of: job, pipeline: pipeline, counter: counter, in: db)
            try db.execute(
                cached: """
                    INSERT INTO console_chunks (job_instance_id, attempt, sequence, text) VALUES (?, ?, ?, ?)
                    ON CONFLICT (job_instance_id, attempt, sequence) DO NOTHING
                    """,
                arguments: [jobID, attempt, sequence, text])
            return db.changesCount > 0
        }
    }

    /// One console chunk to store.
    struct ConsoleChunkRecord: Sendable {
        var text: String
        var sequence: Int
        var attempt: Int
        var job: JobKey
        var pipeline: String
        var counter: Int
        /// The agent that sent it (its event's signer); nil for the scheduler's own notes.
        var agent: String? = nil
    }

    /// Stores many chunks in one transaction (see ``appendConsole(_:sequence:attempt:job:pipeline:counter:)``);
    /// a chunk whose job run does not exist gets a `notFound` outcome without stopping the others.
    func appendConsole(_ chunks: [ConsoleChunkRecord]) async throws(StoreError) -> [StoreError?] {
        try await write("append \(chunks.count) console chunks") { db in try Self.appendConsole(chunks, in: db) }
    }

    /// The body of ``appendConsole(_:)``, inside the caller's transaction. A chunk sent by an agent
    /// is stored only if that agent holds (or held) the attempt: one of another agent's attempt is
    /// refused (`illegalTransition`, so dead-lettered with the reason), and one of an attempt no
    /// agent has been recorded as taking is not stored.
    static func appendConsole(_ chunks: [ConsoleChunkRecord], in db: Database) throws -> [StoreError?] {
        var outcomes: [StoreError?] = []
        var jobs: [String: (id: Int64, job: JobRun)] = [:]
        for chunk in chunks {
            let key = "\(chunk.pipeline)/\(chunk.counter)/\(chunk.job)"
            let found: (id: Int64, job: JobRun)
            if let known = jobs[key] {
                found = known
            } else {
                guard let row = try Row.fetchOne(db, cached: jobSQL, arguments: [chunk.pipeline, chunk.counter, chunk.job.stage,
                                                                               chunk.job.stageCounter, chunk.job.job, chunk.job.runIndex])
                else {
                    outcomes.append(StoreError(code: .notFound, operation: "find job", message: "no job \(chunk.pipeline)/\(chunk.counter)/\(chunk.job)"))
                    continue
                }
                found = (try row.value("id"), try PipelineRunRows.job(from: row))
                jobs[key] = found
            }
            let jobID = found.id
            if let agent = chunk.agent {
                let holder = chunk.attempt == found.job.attempt
                    ? found.job.agentID : found.job.abandoned.first { $0.attempt == chunk.attempt }?.agentID
                guard let holder else {
                    outcomes.append(nil)
                    continue
                }
                guard holder == agent else {
                    outcomes.append(StoreError(code: .illegalTransition, operation: "append console of \(key)#\(chunk.attempt)",
                                               message: "unauthenticated: agent \(agent) sent console output of an attempt agent \(holder) holds"))
                    continue
                }
            }
            try db.execute(
                cached: """
                    INSERT INTO console_chunks (job_instance_id, attempt, sequence, text) VALUES (?, ?, ?, ?)
                    ON CONFLICT (job_instance_id, attempt, sequence) DO NOTHING
                    """,
                arguments: [jobID, chunk.attempt, chunk.sequence, chunk.text])
            outcomes.append(nil)
        }
        return outcomes
    }

    /// The job run with the console output of `attempt` (its current attempt when `nil`), or
    /// `nil` if the job run does not exist.
    func console(of job: JobKey, pipeline: String, counter: Int, attempt: Int? = nil) async throws(StoreError)
        -> JobConsoleText?
    {
        try await read("console of \(pipeline)/\(counter)/\(job)") { db in
            guard
                let row = try Row.fetchOne(
                    db, cached: Self.jobSQL,
                    arguments: [pipeline, counter, job.stage, job.stageCounter, job.job, job.runIndex])
            else { return nil }
            let run = try PipelineRunRows.job(from: row)
            var jobAttempt = try currentAttempt(of: run, row: row)
            jobAttempt.attempt = attempt ?? run.attempt
            // A job copied into a re-run of its stage shows the output of the run it was copied from.
            var consoleJobID: Int64 = try row.value("id")
            if let original = run.originalStageCounter {
                let source = JobKey(stage: job.stage, stageCounter: original, job: job.job, runIndex: job.runIndex)
                consoleJobID = try Self.jobID(of: source, pipeline: pipeline, counter: counter, in: db)
            }
            let chunks = try String.fetchAll(
                db,
                cached: "SELECT text FROM console_chunks WHERE job_instance_id = ? AND attempt = ? ORDER BY sequence",
                arguments: [consoleJobID, jobAttempt.attempt])
            return JobConsoleText(attempt: jobAttempt, job: run, text: chunks.joined())
        }
    }

    private static let jobSQL = """
        SELECT j.*, s.name AS stage_name, s.counter AS stage_counter,
            p.pipeline_name, p.counter AS pipeline_counter
        FROM job_instances j
        JOIN stage_instances s ON s.id = j.stage_instance_id
        JOIN pipeline_instances p ON p.id = s.pipeline_instance_id
        WHERE p.pipeline_name = ? AND p.counter = ? AND s.name = ? AND s.counter = ? AND j.name = ? AND j.run_index = ?
        """

    static func jobID(of job: JobKey, pipeline: String, counter: Int, in db: Database) throws -> Int64 {
        guard
            let row = try Row.fetchOne(
                db, cached: jobSQL, arguments: [pipeline, counter, job.stage, job.stageCounter, job.job, job.runIndex])
        else {
            throw StoreError(code: .notFound, operation: "find job", message: "no job \(pipeline)/\(counter)/\(job)")
        }
        return try row.value("id")
    }
}
