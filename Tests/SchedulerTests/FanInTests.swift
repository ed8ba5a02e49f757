import Foundation
import Logging
import RelevoTestSupport
import Shared
import Testing

@testable import Scheduler

/// GoCD's fan-in (issue #16), the diamond: A → B, A → C, B + C → D. D runs once per A run that
/// passed through both B and C, never with B of one A and C of another.
@Suite struct FanInTests {
    static let agent = AgentIdentity(uuid: "agent-1", name: "linux-1", resources: [], environments: [], slots: 4)

    static func pipeline(_ name: String, upstreams: [String]) -> PipelineDefinition {
        let materials: [MaterialDefinition] = upstreams.isEmpty
            ? [.git(GitMaterial(name: "app", url: "https://example.invalid/app.git"))]
            : upstreams.map { .dependency(DependencyMaterial(name: $0, pipeline: $0, stage: "go")) }
        return PipelineDefinition(name: name, materials: materials, stages: [Fixture.stage("go", jobs: [Fixture.job("j")])],
                                  origin: ConfigLocation(file: "\(name).gocd.yaml", line: 1, column: 1))
    }

    static let diamond = [pipeline("a", upstreams: []), pipeline("b", upstreams: ["a"]), pipeline("c", upstreams: ["a"]),
                          pipeline("d", upstreams: ["b", "c"])]

    /// Ends run `counter` of `name`'s only job with `result` (its stage passes or fails, and its
    /// downstreams are triggered as the engine decides).
    static func finish(_ engine: SchedulerEngine, _ name: String, _ counter: Int, _ result: JobResult = .passed) async {
        let attempt = JobAttempt(jobRunID: JobRunID(pipeline: name, pipelineCounter: counter, stage: "go", job: "j"), attempt: 1)
        _ = await engine.handle([.started(attempt, agent: agent), .finished(attempt, result: result, agent: agent.uuid)])
    }

    /// Each instance of `name`, oldest first, as its upstream pins (material → `pipeline/counter`).
    static func pins(_ store: SchedulerStore, _ name: String) async throws -> [[String: String]] {
        try await store.history(of: name, limit: 20).runs.reversed().map { run in
            run.materialRevisions.compactMapValues { DependencyPin(revision: $0).map { "\($0.pipeline)/\($0.counter)" } }
        }
    }

    @Test func theDiamondRunsDOncePerARunThatPassedThroughBothSides() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            await engine.apply(config: ConfigSnapshot(pipelines: Self.diamond))
            _ = try await engine.trigger("a", cause: .manual(user: "ana"), revisions: ["app": "r1"])
            await Self.finish(engine, "a", 1)
            // B/1 and C/1 run; B passes first: D waits for C of the same A.
            await Self.finish(engine, "b", 1)
            #expect(try await Self.pins(store, "d").isEmpty, "D must wait for C/1")
            await Self.finish(engine, "c", 1)
            #expect(try await Self.pins(store, "d") == [["b": "b/1", "c": "c/1"]])

            // A/2: B/2 passes, but C/2 fails: D never runs for A/2, and never mixes B/2 with C/1.
            _ = try await engine.trigger("a", cause: .manual(user: "ana"), revisions: ["app": "r2"])
            await Self.finish(engine, "a", 2)
            await Self.finish(engine, "b", 2)
            await Self.finish(engine, "c", 2, .failed)
            #expect(try await Self.pins(store, "d").count == 1)

            // A/3: C passes first this time, then B.
            _ = try await engine.trigger("a", cause: .manual(user: "ana"), revisions: ["app": "r3"])
            await Self.finish(engine, "a", 3)
            await Self.finish(engine, "c", 3)
            #expect(try await Self.pins(store, "d").count == 1)
            await Self.finish(engine, "b", 3)
            #expect(try await Self.pins(store, "d") == [["b": "b/1", "c": "c/1"], ["b": "b/3", "c": "c/3"]])

            // A trigger of D by hand takes the newest consistent set, not the newest of each.
            await engine.catchUpDownstream()
            #expect(try await Self.pins(store, "d").count == 2, "the catch-up pass adds nothing")
        }
    }

    @Test func independentUpstreamsAreNotHeldBack() async throws {
        try await SchedulerEngineTests.withEngine { engine, store, _ in
            let x = Self.pipeline("x", upstreams: [])
            var y = Self.pipeline("y", upstreams: [])
            y.materials = [.git(GitMaterial(name: "other", url: "https://example.invalid/other.git"))]
            await engine.apply(config: ConfigSnapshot(pipelines: [x, y, Self.pipeline("z", upstreams: ["x", "y"])]))
            _ = try await engine.trigger("y", cause: .manual(user: "ana"), revisions: ["other": "o1"])
            await Self.finish(engine, "y", 1)
            _ = try await engine.trigger("x", cause: .manual(user: "ana"), revisions: ["app": "r1"])
            await Self.finish(engine, "x", 1)
            // No shared ancestor: each upstream's newest passed run.
            #expect(try await Self.pins(store, "z").last == ["x": "x/1", "y": "y/1"])
        }
    }
}
