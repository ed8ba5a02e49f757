import Foundation
import Shared
import Testing

@testable import Scheduler

/// The dispatch marks that let a restarted scheduler publish jobs it had committed but never
/// got confirmed, on a real SQLite file.
@Suite struct StoreDispatchMarkTests {
    private func definition() -> PipelineDefinition {
        PipelineDefinition(
            name: "marks", materials: [],
            stages: [StageDefinition(name: "build", jobs: [
                JobDefinition(name: "a", tasks: [.exec(ExecTask(command: "/bin/true"))]),
                JobDefinition(name: "b", tasks: [.exec(ExecTask(command: "/bin/true"))]),
            ])],
            origin: ConfigLocation(file: "marks.gocd.yaml", line: 1, column: 1))
    }

    @Test func onlyUnconfirmedScheduledJobsAwaitDispatchAcrossReopen() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-marks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("relevo.sqlite").path

        let store = try SchedulerStore(path: path)
        _ = try await store.createRun(of: definition(), cause: .manual(user: "test"), materialRevisions: [:], at: Date())
        #expect(try await store.jobsAwaitingDispatch().map(\.attempt.jobRunID.job).sorted() == ["a", "b"])
        try await store.markDispatched([JobKey(stage: "build", job: "a")], pipeline: "marks", counter: 1, at: Date())
        #expect(try await store.jobsAwaitingDispatch().map(\.attempt.jobRunID.job) == ["b"])
        try store.close()

        let reopened = try SchedulerStore(path: path)
        #expect(try await reopened.appliedMigrations().contains("v2-dispatch-marks"))
        #expect(try await reopened.jobsAwaitingDispatch().map(\.attempt.jobRunID.job) == ["b"])
        // A job a worker has taken no longer awaits dispatch, mark or not.
        _ = try await reopened.apply(.jobAccepted(job: JobKey(stage: "build", job: "b"), attempt: 1, agent: "agent"),
                                     pipeline: "marks", counter: 1, at: Date())
        #expect(try await reopened.jobsAwaitingDispatch().isEmpty)
        try reopened.close()
    }
}
