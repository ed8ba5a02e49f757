import Foundation
import GRDB
import Shared
import Testing

@testable import Scheduler

/// History, console output and agents.
struct StoreQueryTests {
    @Test func historyPagesNewestFirst() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            for index in 1...5 {
                _ = try await store.createRun(
                    of: Fixture.buildTest, cause: .materialChange, materialRevisions: ["app": "rev\(index)"],
                    at: Fixture.at(index))
            }
            let other = Fixture.pipeline("other", stages: Fixture.buildTest.stages)
            _ = try await store.createRun(of: other, cause: .materialChange, materialRevisions: [:], at: Fixture.t0)

            let first = try await store.history(of: "app", limit: 2)
            #expect(first.runs.map(\.counter) == [5, 4])
            #expect(first.runs.map(\.materialRevisions) == [["app": "rev5"], ["app": "rev4"]])
            #expect(first.total == 5)
            #expect(first.hasMore)
            #expect(try await store.history(of: "app", limit: 2, offset: 2).runs.map(\.counter) == [3, 2])
            let last = try await store.history(of: "app", limit: 2, offset: 4)
            #expect(last.runs.map(\.counter) == [1])
            #expect(!last.hasMore)
            #expect(try await store.history(of: "app", limit: 2, offset: 10).runs.isEmpty)
            #expect(try await store.history(of: "missing", limit: 2).total == 0)
            #expect(first.runs[0].stages.count == 2)
            #expect(first.runs[0].stages[0].jobs.count == 1)
            try store.close()
        }
    }

    @Test func consoleChunksAreStoredOncePerAttemptAndReadInSequence() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            _ = try await store.createRun(
                of: Fixture.buildTest, cause: .materialChange, materialRevisions: [:], at: Fixture.t0)
            let compile = Fixture.key("build", "compile")
            func append(_ text: String, _ sequence: Int, attempt: Int = 1) async throws -> Bool {
                try await store.appendConsole(
                    text, sequence: sequence, attempt: attempt, job: compile, pipeline: "app", counter: 1)
            }

            #expect(try await append("c\n", 2))
            #expect(try await append("a\n", 0))
            #expect(try await append("b\n", 1))
            #expect(try await append("b\n", 1) == false)
            #expect(try await append("other\n", 1) == false)
            #expect(try await append("retry\n", 0, attempt: 2))

            let console = try #require(try await store.console(of: compile, pipeline: "app", counter: 1))
            #expect(console.text == "a\nb\nc\n")
            #expect(console.attempt == Fixture.attempt("build", "compile"))
            #expect(console.job.state == .scheduled)
            #expect(try await store.console(of: compile, pipeline: "app", counter: 1, attempt: 2)?.text == "retry\n")
            #expect(try await store.console(of: Fixture.key("test", "unit"), pipeline: "app", counter: 1) == nil)
            let count = try await store.read("count chunks") { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM console_chunks")
            }
            #expect(count == 4)

            let error = await #expect(throws: StoreError.self) {
                try await store.appendConsole(
                    "x", sequence: 0, attempt: 1, job: Fixture.key("test", "unit"), pipeline: "app", counter: 1)
            }
            #expect(error?.code == .notFound)
            try store.close()
        }
    }

    @Test func agentsAndTheirSilence() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            try await store.register(
                Agent(
                    uuid: "u1", name: "alpha", resources: ["linux", "rpm"], environments: ["dev"],
                    lastHeartbeatAt: Fixture.at(0)))
            try await store.register(
                Agent(uuid: "u2", name: "beta", resources: ["windows"], lastHeartbeatAt: Fixture.at(0)))
            try await store.register(Agent(uuid: "u3", name: "gamma"))

            try await store.recordHeartbeat(
                of: "u1", state: .building, currentJob: "app/1/build/1/compile", at: Fixture.at(100))
            try await store.recordHeartbeat(of: "u2", state: .idle, currentJob: nil, at: Fixture.at(10))

            let silent = try await store.agents(silentSince: Fixture.at(50))
            #expect(silent.map(\.uuid) == ["u2", "u3"])
            try await store.setState(.lostContact, ofAgent: "u2")
            try store.close()

            let reopened = try SchedulerStore(path: path)
            let agents = try await reopened.agents()
            #expect(agents.map(\.name) == ["alpha", "beta", "gamma"])
            #expect(
                agents[0]
                    == Agent(
                        uuid: "u1", name: "alpha", resources: ["linux", "rpm"], environments: ["dev"], state: .building,
                        lastHeartbeatAt: Fixture.at(100), currentJob: "app/1/build/1/compile"))
            #expect(agents[1].state == .lostContact)

            try await reopened.register(Agent(uuid: "u3", name: "gamma-2", resources: ["arm"]))
            #expect(try await reopened.agents().last?.resources == ["arm"])
            let error = await #expect(throws: StoreError.self) {
                try await reopened.recordHeartbeat(of: "nobody", state: .idle, currentJob: nil, at: Fixture.t0)
            }
            #expect(error?.code == .notFound)
            try reopened.close()
        }
    }
}
