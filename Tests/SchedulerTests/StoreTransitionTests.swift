import Foundation
import Shared
import Testing

@testable import Scheduler

/// Applying events through the store: one transaction per transition, reloaded identically.
struct StoreTransitionTests {
    static let definition = Fixture.pipeline(stages: [
        Fixture.stage("build", jobs: [Fixture.job("compile"), Fixture.job("unit", instances: 2)]),
        Fixture.stage("deploy", approval: .manual, jobs: [Fixture.job("push")]),
    ])

    /// Every event of a full passing run of ``definition`` after `created`, with an abandoned attempt.
    static let events: [PipelineEvent] = {
        let unit1 = Fixture.key("build", "unit", 1)
        var events = Fixture.lifecycle(Fixture.key("build", "compile"))
        events.append(.jobAccepted(job: unit1, attempt: 1, agent: "agent-1"))
        events.append(.jobAbandoned(job: unit1, attempt: 1, reason: "agent-1 lost contact"))
        events += Fixture.lifecycle(unit1, attempt: 2, agent: "agent-2")
        events += Fixture.lifecycle(Fixture.key("build", "unit", 2), agent: "agent-3")
        events.append(.approve(stage: "deploy", user: "ops"))
        events += Fixture.lifecycle(Fixture.key("deploy", "push"))
        return events
    }()

    @Test func aFullRunPersistsAndReloadsIdenticallyAfterReopening() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            let created = try await store.createRun(
                of: Self.definition, cause: .manual(user: "ana"), materialRevisions: ["app": "0123abc"], at: Fixture.t0)
            var expected = created.run
            #expect(created.actions.count == 3)
            #expect(try await store.pipelineRun("app", counter: 1) == expected)

            for (offset, event) in Self.events.enumerated() {
                let now = Fixture.at(offset + 1)
                let actions = try await store.apply(event, pipeline: "app", counter: 1, at: now)
                #expect(actions == (try expected.on(event, at: now)), "\(event)")
                #expect(try await store.pipelineRun("app", counter: 1) == expected, "\(event)")
            }
            #expect(expected.state == .passed)
            try store.close()

            let reopened = try SchedulerStore(path: path)
            #expect(try await reopened.pipelineRun("app", counter: 1) == expected)
            let transitions = try await reopened.transitions(of: "app", counter: 1)
            #expect(transitions.map(\.event) == [.created] + Self.events)
            #expect(transitions.map(\.at) == (0...Self.events.count).map(Fixture.at))
            #expect(try await reopened.jobsInFlight() == [])
            try reopened.close()
        }
    }

    @Test func reRunsPersistEveryStageRunAndReloadIdentically() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            let created = try await store.createRun(
                of: Self.definition, cause: .manual(user: "ana"), materialRevisions: ["app": "0123abc"], at: Fixture.t0)
            var expected = created.run
            let build2 = { (job: String, index: Int) in JobKey(stage: "build", stageCounter: 2, job: job, runIndex: index) }
            let events: [PipelineEvent] =
                Fixture.lifecycle(Fixture.key("build", "compile"), result: .failed)
                + Fixture.lifecycle(Fixture.key("build", "unit", 1)) + Fixture.lifecycle(Fixture.key("build", "unit", 2))
                + [.rerun(stage: "build", jobs: .failed, user: "ana")]
                + Fixture.lifecycle(build2("compile", 1))
                + [.approve(stage: "deploy", user: "ops")] + Fixture.lifecycle(Fixture.key("deploy", "push"))
                + [.rerun(stage: "deploy", jobs: .all, user: "ops")]
                + Fixture.lifecycle(JobKey(stage: "deploy", stageCounter: 2, job: "push"))
            for (offset, event) in events.enumerated() {
                let now = Fixture.at(offset + 1)
                let actions = try await store.apply(event, pipeline: "app", counter: 1, at: now)
                #expect(actions == (try expected.on(event, at: now)), "\(event)")
                #expect(try await store.pipelineRun("app", counter: 1) == expected, "\(event)")
            }
            #expect(expected.state == .passed)
            #expect(expected.stages.map { "\($0.name)/\($0.counter)" } == ["build/2", "deploy/2"])
            try store.close()

            let reopened = try SchedulerStore(path: path)
            let reloaded = try #require(try await reopened.pipelineRun("app", counter: 1))
            #expect(reloaded == expected)
            #expect(reloaded.previousStages.map { "\($0.name)/\($0.counter)" } == ["build/1", "deploy/1"])
            #expect(reloaded.job(build2("unit", 2))?.originalStageCounter == 1)
            #expect(reloaded.stages[0].rerunOfCounter == 1)
            try reopened.close()
        }
    }

    @Test func staleAndDuplicateEventsChangeNothing() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            _ = try await store.createRun(
                of: Self.definition, cause: .materialChange, materialRevisions: [:], at: Fixture.t0)
            let unit = Fixture.key("build", "unit", 1)
            for event in [
                PipelineEvent.jobAccepted(job: unit, attempt: 1, agent: "agent-1"),
                .jobAbandoned(job: unit, attempt: 1, reason: "lost"),
                .jobAccepted(job: unit, attempt: 2, agent: "agent-2"),
            ] {
                try await store.apply(event, pipeline: "app", counter: 1, at: Fixture.at(1))
            }
            let run = try await store.pipelineRun("app", counter: 1)
            let transitions = try await store.transitions(of: "app", counter: 1)

            for event in [
                PipelineEvent.jobStarted(job: unit, attempt: 1),
                .jobFinished(job: unit, attempt: 1, result: .failed),
                .jobAbandoned(job: unit, attempt: 1, reason: "lost"),
                .jobAccepted(job: unit, attempt: 2, agent: "agent-2"),
                .jobFinished(job: unit, attempt: 2, result: .passed, agent: "agent-1"),
            ] {
                #expect(try await store.apply(event, pipeline: "app", counter: 1, at: Fixture.at(9)) == [], "\(event)")
            }

            #expect(try await store.pipelineRun("app", counter: 1) == run)
            #expect(try await store.transitions(of: "app", counter: 1) == transitions)
            try store.close()
        }
    }

    @Test func anIllegalEventWritesNothing() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            _ = try await store.createRun(
                of: Self.definition, cause: .materialChange, materialRevisions: [:], at: Fixture.t0)
            let run = try await store.pipelineRun("app", counter: 1)

            let error = await #expect(throws: StoreError.self) {
                try await store.apply(
                    .jobFinished(job: Fixture.key("deploy", "push"), attempt: 1, result: .passed), pipeline: "app",
                    counter: 1, at: Fixture.at(1))
            }

            #expect(error?.code == .illegalTransition)
            #expect(error?.scheduling?.code == .jobNotDispatched)
            #expect(error?.isRetriable == false)
            #expect(error?.operation == "apply jobFinished deploy/1/push/1#1 passed to app/1")
            #expect(try await store.pipelineRun("app", counter: 1) == run)
            #expect(try await store.transitions(of: "app", counter: 1).count == 1)
            try store.close()
        }
    }

    @Test func anEventForAnUnknownRunIsNotFound() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            let error = await #expect(throws: StoreError.self) {
                try await store.apply(.cancel(user: "ana"), pipeline: "app", counter: 7, at: Fixture.t0)
            }
            #expect(error?.code == .notFound)
            #expect(try await store.pipelineRun("app", counter: 7) == nil)
            try store.close()
        }
    }

    @Test func inFlightJobsAreWhatARestartedSchedulerRecovers() async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            _ = try await store.createRun(
                of: Self.definition, cause: .materialChange, materialRevisions: [:], at: Fixture.t0)
            try await store.apply(
                .jobAccepted(job: Fixture.key("build", "unit", 2), attempt: 1, agent: "agent-7"), pipeline: "app",
                counter: 1, at: Fixture.at(1))
            for event in Fixture.lifecycle(Fixture.key("build", "compile")) {
                try await store.apply(event, pipeline: "app", counter: 1, at: Fixture.at(2))
            }
            try store.close()

            let reopened = try SchedulerStore(path: path)
            let inFlight = try await reopened.jobsInFlight()
            #expect(
                inFlight.map(\.attempt) == [
                    Fixture.attempt("build", "unit", index: 1),
                    Fixture.attempt("build", "unit", index: 2),
                ])
            #expect(inFlight.map(\.job.state) == [.scheduled, .assigned])
            #expect(inFlight.map(\.job.agentID) == [nil, "agent-7"])
            try reopened.close()
        }
    }
}
