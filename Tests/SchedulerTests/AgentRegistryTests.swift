import Foundation
import Logging
import RelevoTestSupport
import Shared
import Testing

@testable import Scheduler

/// Heartbeats, agent edits and lost agents, over a real SQLite file and an in-memory broker.
@Suite struct AgentRegistryTests {
    static let identity = AgentIdentity(uuid: "u-1", name: "linux-1", resources: ["linux"], environments: [], slots: 2)

    static func withRegistry(_ body: (AgentRegistry, SchedulerStore, InMemoryPublisher) async throws -> Void) async throws {
        try await TemporaryDatabase.withPath { path in
            let store = try SchedulerStore(path: path)
            let publisher = InMemoryPublisher()
            try await body(AgentRegistry(store: store, publisher: publisher, logger: Logger(label: "test")), store, publisher)
        }
    }

    /// The agent controls published so far.
    static func controls(_ publisher: InMemoryPublisher) async throws -> [AgentControl] {
        try await publisher.published.filter { $0.properties.type == AgentControl.messageType }
            .map { try MessageCodec.decodeAgentControl($0.body) }
    }

    @Test func aHeartbeatRegistersTheAgentIdleOrBuilding() async throws {
        try await Self.withRegistry { registry, store, publisher in
            try await registry.heartbeat(Self.identity, busyJobs: [])
            #expect(try await store.agents().map(\.state) == [.idle])
            let job = JobRunID(pipeline: "app", pipelineCounter: 1, stage: "build", job: "compile")
            try await registry.heartbeat(Self.identity, busyJobs: [job])
            let agent = try #require(try await store.agents().first)
            #expect(agent.state == .building && agent.currentJob == job.description && agent.resources == ["linux"])
            // Nothing set by an administrator: nothing to tell the agent.
            #expect(try await Self.controls(publisher).isEmpty)
        }
    }

    @Test func aDisabledAgentIsToldAgainAtEveryHeartbeatAndStaysDisabled() async throws {
        try await Self.withRegistry { registry, store, publisher in
            try await registry.heartbeat(Self.identity, busyJobs: [])
            let disabled = try await registry.update("u-1", enabled: false, resources: nil, environments: nil)
            #expect(disabled.state == .disabled)
            try await registry.heartbeat(Self.identity, busyJobs: [])
            try await registry.heartbeat(Self.identity, busyJobs: [])
            #expect(try await store.agents().first?.state == .disabled)
            #expect(try await Self.controls(publisher).map(\.enabled) == [false, false, false])
            _ = try await registry.update("u-1", enabled: true, resources: .some(["RPM", "linux"]), environments: nil)
            let controls = try await Self.controls(publisher)
            #expect(controls.last?.enabled == true && controls.last?.resources == ["linux", "rpm"])
            // Until the agent's heartbeat shows the resources it was given, it is told again.
            try await registry.heartbeat(Self.identity, busyJobs: [])
            #expect(try await Self.controls(publisher).count == controls.count + 1)
            var applied = Self.identity
            applied.appliedResources = ["linux", "rpm"]
            try await registry.heartbeat(applied, busyJobs: [])
            #expect(try await Self.controls(publisher).count == controls.count + 1)
        }
    }

    @Test func anUnknownAgentCannotBeEdited() async throws {
        try await Self.withRegistry { registry, _, _ in
            await #expect(throws: SchedulerEngine.RequestError.self) {
                _ = try await registry.update("nobody", enabled: false, resources: nil, environments: nil)
            }
        }
    }

    @Test func silentAgentsAreMarkedLostButNotDisabledOnes() async throws {
        try await Self.withRegistry { registry, store, _ in
            try await registry.heartbeat(Self.identity, busyJobs: [])
            var other = Self.identity
            other.uuid = "u-2"
            other.name = "linux-2"
            try await registry.heartbeat(other, busyJobs: [])
            _ = try await registry.update("u-2", enabled: false, resources: nil, environments: nil)
            await registry.markSilent(since: Date().addingTimeInterval(60))
            let states = Dictionary(uniqueKeysWithValues: try await store.agents().map { ($0.uuid, $0.state) })
            #expect(states == ["u-1": .lostContact, "u-2": .disabled])
        }
    }
}
