import Foundation
import GRDB
import Shared
import Testing

@testable import Scheduler

/// Opening, migrating and reopening a real database file.
struct StoreSchemaTests {
    static let tables = [
        "agents", "console_chunks", "dead_letters", "deferred_triggers", "job_instances", "pipeline_counters", "pipeline_instances", "pipeline_pauses", "pipeline_unlocks", "stage_instances",
        "transitions",
    ]

    @Test func migrationsCreateTheSchemaInAnEmptyFileInWALMode() async throws {
        try await TemporaryDatabase.withPath { path in
            #expect(!FileManager.default.fileExists(atPath: path))
            let store = try SchedulerStore(path: path)

            #expect(try await store.appliedMigrations() == ["v1-initial-schema", "v2-dispatch-marks", "v3-pipeline-unlocks", "v4-pipeline-pauses", "v5-stage-reruns", "v6-agent-configuration", "v7-deferred-triggers", "v8-dead-letters", "v9-abandoned-attempts", "v10-agent-credentials", "v11-trigger-variables"])
            let tables = try await store.read("tables") { db in
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT name FROM sqlite_master
                        WHERE type = 'table' AND name NOT LIKE 'grdb%' AND name NOT LIKE 'sqlite%' ORDER BY name
                        """)
            }
            #expect(tables == Self.tables)
            let mode = try await store.read("journal mode") { db in
                try String.fetchOne(db, sql: "PRAGMA journal_mode")
            }
            #expect(mode == "wal")
            try store.close()
        }
    }

    @Test func reopeningMigratesNothingAndKeepsTheData() async throws {
        try await TemporaryDatabase.withPath { path in
            let first = try SchedulerStore(path: path)
            _ = try await first.createRun(
                of: Fixture.buildTest, cause: .materialChange, materialRevisions: ["app": "abc"], at: Fixture.t0)
            try first.close()

            let second = try SchedulerStore(path: path)
            #expect(try await second.appliedMigrations() == ["v1-initial-schema", "v2-dispatch-marks", "v3-pipeline-unlocks", "v4-pipeline-pauses", "v5-stage-reruns", "v6-agent-configuration", "v7-deferred-triggers", "v8-dead-letters", "v9-abandoned-attempts", "v10-agent-credentials", "v11-trigger-variables"])
            #expect(try await second.pipelineRun("app", counter: 1)?.cause == .materialChange)
            try second.close()
            let third = try SchedulerStore(path: path)
            #expect(try await third.appliedMigrations() == ["v1-initial-schema", "v2-dispatch-marks", "v3-pipeline-unlocks", "v4-pipeline-pauses", "v5-stage-reruns", "v6-agent-configuration", "v7-deferred-triggers", "v8-dead-letters", "v9-abandoned-attempts", "v10-agent-credentials", "v11-trigger-variables"])
            try third.close()
        }
    }

    @Test func aFileThatIsNotADatabaseFailsToOpen() async throws {
        try await TemporaryDatabase.withPath { path in
            try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: StoreError.self) { try SchedulerStore(path: path) }
            #expect(error?.code == .openFailed)
            #expect(error?.isRetriable == false)
        }
    }

    @Test func countersIncreasePerPipelineAcrossReopen() async throws {
        try await TemporaryDatabase.withPath { path in
            let other = Fixture.pipeline("other", stages: Fixture.buildTest.stages)
            let first = try SchedulerStore(path: path)
            var counters: [Int] = []
            for _ in 1...3 {
                counters.append(
                    try await first.createRun(
                        of: Fixture.buildTest, cause: .manual(user: "ana"), materialRevisions: [:], at: Fixture.t0
                    ).run.counter)
            }
            #expect(counters == [1, 2, 3])
            #expect(
                try await first.createRun(of: other, cause: .materialChange, materialRevisions: [:], at: Fixture.t0)
                    .run.counter == 1)
            try first.close()

            let second = try SchedulerStore(path: path)
            #expect(
                try await second.createRun(
                    of: Fixture.buildTest, cause: .materialChange, materialRevisions: [:], at: Fixture.t0
                ).run.counter == 4)
            try second.close()
        }
    }

    @Test func concurrentCreationsGetDistinctCounters() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            let counters = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 1...8 {
                    group.addTask {
                        try await store.createRun(
                            of: Fixture.buildTest, cause: .materialChange, materialRevisions: [:], at: Fixture.t0
                        ).run.counter
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(counters.sorted() == Array(1...8))
            try store.close()
        }
    }

    @Test func anInvalidDefinitionCreatesNothingAndGivesItsCounterBack() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            let error = await #expect(throws: StoreError.self) {
                try await store.createRun(
                    of: Fixture.pipeline(stages: []), cause: .materialChange, materialRevisions: [:], at: Fixture.t0)
            }
            #expect(error?.scheduling?.code == .invalidDefinition)
            #expect(
                try await store.createRun(
                    of: Fixture.buildTest, cause: .materialChange, materialRevisions: [:], at: Fixture.t0
                ).run.counter == 1)
            try store.close()
        }
    }
}
