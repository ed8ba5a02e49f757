import Foundation
import Shared

/// The credentials that sign agents' events, read from the store once and kept: checking an
/// event's signature costs no database read.
actor AgentCredentials {
    private let store: SchedulerStore
    private var known: [String: [UInt8]] = [:]

    init(store: SchedulerStore) {
        self.store = store
    }

    /// Agent `uuid`'s credential, or nil if it has none (pending, unknown).
    func credential(of uuid: String) async -> [UInt8]? {
        if let key = known[uuid] { return key }
        guard let record = try? await store.credentialRecord(of: uuid), let text = record.credential,
              let key = EventSignature.credential(fromHex: text) else { return nil }
        known[uuid] = key
        return key
    }

    /// Agent `uuid`'s credential changed (registered again, approved, or withdrawn).
    func changed(_ uuid: String) {
        known[uuid] = nil
    }

    /// A new random credential, as hex.
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}

/// Who sent a worker event, checked before the event is applied: the signature must be the
/// agent's own, and an event that names an agent (accepted, started, redelivered, finished,
/// heartbeat; task starts and console output name it once checked) must name the one that
/// signed it.
enum EventAuthentication {
    /// Why an event is refused, in words for the dead-letter record.
    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    /// The event as applied (a `finished` without an agent gets its signer), or why it is refused.
    static func check(_ event: WorkerEvent, signer: String) -> Result<WorkerEvent, Refusal> {
        func named(_ uuid: String) -> Result<WorkerEvent, Refusal> {
            uuid == signer ? .success(event)
                : .failure(Refusal(description: "unauthenticated: agent \(signer) signed an event of agent \(uuid)"))
        }
        switch event {
        case .accepted(_, let agent), .started(_, let agent), .redelivered(_, let agent), .heartbeat(let agent, _, _):
            return named(agent.uuid)
        case .finished(let attempt, let result, let console, let agent):
            guard let agent else { return .success(.finished(attempt, result: result, console: console, agent: signer)) }
            return named(agent)
        case .taskStarted(let attempt, let index, let agent):
            guard let agent else { return .success(.taskStarted(attempt, index: index, agent: signer)) }
            return named(agent)
        case .console(let attempt, let sequence, let text, let agent):
            guard let agent else { return .success(.console(attempt, sequence: sequence, text: text, agent: signer)) }
            return named(agent)
        }
    }
}
