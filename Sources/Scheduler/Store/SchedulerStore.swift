import Foundation
import GRDB
import Shared

/// The scheduler's state in SQLite: pipeline runs, their stages and jobs, the log of applied
/// transitions, agents and console output. The database is the truth: every transition is one
/// transaction that loads the run, applies the pure state machine, writes the changed rows and a
/// timestamped `transitions` row, so a crash never leaves half a transition behind.
///
/// Methods run on GRDB's own queues (never blocking the cooperative pool) and throw only
/// ``StoreError``. Queries are in `SchedulerStore+Queries.swift`, console output in
/// `SchedulerStore+Console.swift`, agents in `SchedulerStore+Agents.swift`.
final class SchedulerStore: Sendable {
    /// The connection pool (a file in WAL mode) or queue (in memory).
    let writer: any DatabaseWriter
    /// The unfinished runs as last committed (see ``RunCache``).
    let runs = RunCache()

    /// Opens the database file at `path`, creating it if needed, in WAL mode, and migrates it.
    init(path: String) throws(StoreError) {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        do {
            writer = try DatabasePool(path: path, configuration: configuration)
            try SchedulerMigrations.migrator.migrate(writer)
        } catch {
            throw StoreError(code: .openFailed, operation: "open \(path)", message: String(describing: error))
        }
    }

    /// A private in-memory database, for tests of the layers above the store.
    init() throws(StoreError) {
        do {
            writer = try DatabaseQueue()
            try SchedulerMigrations.migrator.migrate(writer)
        } catch {
            throw StoreError(code: .openFailed, operation: "open in-memory", message: String(describing: error))
        }
    }

    /// Closes the database; later calls fail. Also happens when the store is released.
    func close() throws(StoreError) {
        do {
            try writer.close()
        } catch {
            throw StoreError(operation: "close", wrapping: error)
        }
    }

    /// The identifiers of the migrations applied to the database, in order.
    func appliedMigrations() async throws(StoreError) -> [String] {
        try await read("list migrations") { db in try SchedulerMigrations.migrator.appliedMigrations(db) }
    }

    /// Creates the next run of `definition`: allocates its counter, builds the run, applies
    /// ``PipelineEvent/created`` and stores it all in one transaction.
    ///
    /// - Returns: the new run and what to do now (dispatch the first stage's jobs, or announce
    ///   that it awaits approval).
    func createRun(
        of definition: PipelineDefinition, cause: TriggerCause, materialRevisions: [String: String],
        triggerVariables: [EnvironmentVariable] = [], label: PipelineRun.LabelInputs = PipelineRun.LabelInputs(),
        at now: Date, runOnAllCount: @escaping @Sendable (JobDefinition) -> Int = { _ in 1 }
    ) async throws(StoreError) -> (run: PipelineRun, actions: [PipelineAction]) {
        try await write("create a run of \(definition.name)") { [runs] db in
            let counter = try Self.nextCounter(of: definition.name, in: db)
            var run = try PipelineRun(
                definition: definition, counter: counter, cause: cause, materialRevisions: materialRevisions,
                triggerVariables: triggerVariables, createdAt: now, label: label, runOnAllCount: runOnAllCount)
            let actions = try run.on(.created, at: now)
            let stored = try PipelineRunRows.insert(run, in: db)
            try PipelineRunRows.recordTransition(.created, pipelineID: stored.id, at: now, in: db)
            runs.keep(stored, in: db)
            return (run, actions)
        }
    }

    /// Applies `event` to run `pipeline`/`counter` in one transaction and returns what to do once
    /// it is committed. A stale or duplicate event writes nothing and returns no actions.
    ///
    /// - Throws: ``StoreError`` with code `notFound` for an unknown run, `illegalTransition` when
    ///   the state machine refuses the event (nothing is written).
    @discardableResult
    func apply(_ event: PipelineEvent, pipeline: String, counter: Int, at now: Date) async throws(StoreError)
        -> [PipelineAction]
    {
        try await write("apply \(event) to \(pipeline)/\(counter)") { [runs] db in
            guard var stored = try runs.take(pipeline, counter: counter) ?? PipelineRunRows.load(pipeline: pipeline, counter: counter, in: db) else {
                throw StoreError(code: .notFound, operation: "apply", message: "no run \(pipeline)/\(counter)")
            }
            var run = stored.run
            let actions = try run.on(event, at: now)
            if run != stored.run {
                try PipelineRunRows.save(run, over: &stored, in: db)
                try PipelineRunRows.recordTransition(event, pipelineID: stored.id, at: now, in: db)
            }
            runs.keep(stored, in: db)
            return actions
        }
    }

    /// What one run's events of a batch came to: the run as committed (nil if there is no such
    /// run, and every outcome is then `notFound`) and one outcome per event (one the state machine
    /// refuses does not stop the others), or the error that kept them from being written.
    typealias GroupResult = Result<(run: PipelineRun?, outcomes: [Result<[PipelineAction], StoreError>]), StoreError>

    /// Stores a burst of worker reports in one transaction: the events of each run (loaded and
    /// saved once per run), then the console chunks (checked against the agents the events just
    /// recorded). A run whose rows cannot be written is rolled
    /// back alone (a savepoint each) and gets the error; the others are committed.
    func applyBatch(console chunks: [ConsoleChunkRecord], runs: [(pipeline: String, counter: Int, events: [PipelineEvent])],
                    at now: Date) async throws(StoreError) -> (console: [StoreError?], runs: [GroupResult]) {
        try await write("apply \(runs.count) runs' events and \(chunks.count) console chunks") { [cache = self.runs] db in
            var results: [GroupResult] = []
            for group in runs {
                var result: GroupResult?
                do {
                    var applied: (stored: StoredPipelineRun?, outcomes: [Result<[PipelineAction], StoreError>])?
                    try db.inSavepoint {
                        applied = try Self.apply(group.events, pipeline: group.pipeline, counter: group.counter, at: now, cache: cache, in: db)
                        return .commit
                    }
                    // Kept only now: a run whose savepoint rolled back must be read again.
                    if let stored = applied?.stored { cache.keep(stored, in: db) }
                    result = applied.map { .success(($0.stored?.run, $0.outcomes)) }
                } catch {
                    result = .failure(StoreError(operation: "apply \(group.events.count) events to \(group.pipeline)/\(group.counter)",
                                                 wrapping: error))
                }
                results.append(result ?? .failure(StoreError(code: .database, operation: "apply", message: "no result")))
            }
            let console = try Self.appendConsole(chunks, in: db)
            return (console, results)
        }
    }

    /// One run's events of ``applyBatch(console:runs:at:)``, in order, inside the caller's
    /// transaction: the run is loaded and saved once however many events there are. It comes
    /// from `cache` (taken out) or from its rows, and is returned as saved; the caller keeps it in
    /// `cache` once nothing but the transaction can roll it back.
    static func apply(_ events: [PipelineEvent], pipeline: String, counter: Int, at now: Date, cache: RunCache,
                      in db: Database) throws
        -> (stored: StoredPipelineRun?, outcomes: [Result<[PipelineAction], StoreError>])
    {
        guard var stored = try cache.take(pipeline, counter: counter) ?? PipelineRunRows.load(pipeline: pipeline, counter: counter, in: db) else {
            let missing = StoreError(code: .notFound, operation: "apply", message: "no run \(pipeline)/\(counter)")
            return (nil, events.map { _ in .failure(missing) })
        }
        var run = stored.run
        var outcomes: [Result<[PipelineAction], StoreError>] = []
        var changes: [PipelineEvent] = []
        for event in events {
            let before = run
            do {
                outcomes.append(.success(try run.on(event, at: now)))
                if run != before { changes.append(event) }
            } catch {
                // `run.on` throws only SchedulingError (typed). (`catch let … as SchedulingError`
                // here crashes the Swift 6.3 compiler.)
                outcomes.append(.failure(StoreError(code: .illegalTransition, operation: "apply \(event)",
                                                    message: error.description, scheduling: error)))
            }
        }
        if !changes.isEmpty {
            try PipelineRunRows.save(run, over: &stored, in: db)
            for event in changes {
                try PipelineRunRows.recordTransition(event, pipelineID: stored.id, at: now, in: db)
            }
        }
        return (stored, outcomes)
    }

    /// Allocates the next counter of `pipeline` (1, 2, 3…; never reused), inside the caller's
    /// transaction so that a rolled-back creation gives its counter back.
    static func nextCounter(of pipeline: String, in db: Database) throws -> Int {
        try db.execute(
            cached: """
                INSERT INTO pipeline_counters (pipeline_name, last_counter) VALUES (?, 1)
                ON CONFLICT (pipeline_name) DO UPDATE SET last_counter = last_counter + 1
                """,
            arguments: [pipeline])
        guard
            let counter = try Int.fetchOne(
                db, cached: "SELECT last_counter FROM pipeline_counters WHERE pipeline_name = ?", arguments: [pipeline])
        else {
            throw StoreError(code: .database, operation: "next counter", message: "no counter row for \(pipeline)")
        }
        return counter
    }

    /// Runs `body` in a write transaction, turning any failure into a ``StoreError``.
    func write<Value: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> Value)
        async throws(StoreError) -> Value
    {
        do {
            return try await writer.write(body)
        } catch {
            throw StoreError(operation: operation, wrapping: error)
        }
    }

    /// Runs `body` on a read-only snapshot, turning any failure into a ``StoreError``.
    func read<Value: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> Value)
        async throws(StoreError) -> Value
    {
        do {
            return try await writer.read(body)
        } catch {
            throw StoreError(operation: operation, wrapping: error)
        }
    }
}
