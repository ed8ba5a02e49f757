import Foundation
import GRDB
import Shared
import Testing

@testable import Scheduler

/// The store's cache of unfinished runs: it never holds what was not committed.
struct RunCacheTests {
    @Test func aRunWhoseSavepointRolledBackIsReadAgainFromItsRows() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            for _ in 1...2 {
                _ = try await store.createRun(of: StoreTransitionTests.definition, cause: .manual(user: "ana"),
                                              materialRevisions: ["app": "0123abc"], at: Fixture.t0)
            }
            #expect(store.runs.count == 2)
            let accepted = PipelineEvent.jobAccepted(job: Fixture.key("build", "compile"), attempt: 1, agent: "agent-1")
            // For now, run 1's transitions cannot be recorded: its job rows are written, then
            // rolled back with its savepoint.
            try await store.writer.write { db in
                try db.execute(sql: """
                    CREATE TRIGGER refuse_run_1 BEFORE INSERT ON transitions
                    WHEN (SELECT counter FROM pipeline_instances WHERE id = NEW.pipeline_instance_id) = 1
                    BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                    """)
            }
            let first = try await store.applyBatch(console: [], runs: [("app", 1, [accepted]), ("app", 2, [accepted])], at: Fixture.at(1))
            guard case .failure = first.runs[0], case .success = first.runs[1] else {
                Issue.record("run 1 should have failed alone: \(first.runs)")
                return
            }
            #expect(store.runs.count == 1, "the run that failed is not kept")

            try await store.writer.write { db in try db.execute(sql: "DROP TRIGGER refuse_run_1") }
            let second = try await store.applyBatch(console: [], runs: [("app", 1, [accepted])], at: Fixture.at(2))
            guard case .success(let applied) = second.runs[0] else {
                Issue.record("run 1 should be written now: \(second.runs)")
                return
            }
            // Applied to the rows as committed (where the failed attempt left nothing), so not
            // taken for a duplicate.
            #expect(try await store.transitions(of: "app", counter: 1).map(\.event) == [.created, accepted])
            #expect(try await store.pipelineRun("app", counter: 1) == applied.run)
            #expect(applied.run?.job(Fixture.key("build", "compile"))?.agentID == "agent-1")
            try store.close()
        }
    }

    @Test func aRunLeavesTheCacheWhenItCompletesAndEveryStepMatchesItsRows() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            var expected = try await store.createRun(of: StoreTransitionTests.definition, cause: .manual(user: "ana"),
                                                     materialRevisions: ["app": "0123abc"], at: Fixture.t0).run
            for (offset, event) in StoreTransitionTests.events.enumerated() {
                let now = Fixture.at(offset + 1)
                _ = try expected.on(event, at: now)
                let applied = try await store.applyBatch(console: [], runs: [("app", 1, [event])], at: now)
                guard case .success(let result) = applied.runs[0] else {
                    Issue.record("\(event): \(applied.runs)")
                    return
                }
                #expect(result.run == expected, "\(event)")
                #expect(try await store.pipelineRun("app", counter: 1) == expected, "\(event)")
                #expect(store.runs.count == (expected.isCompleted ? 0 : 1), "\(event)")
            }
            #expect(expected.isCompleted)
            try store.close()
        }
    }
}
