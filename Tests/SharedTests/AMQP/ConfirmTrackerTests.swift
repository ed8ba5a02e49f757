@testable import Shared
import Synchronization
import Testing

@Suite struct ConfirmTrackerTests {
    /// Collects what each publish's completion reported, by sequence number.
    final class Outcomes: Sendable {
        let values = Mutex<[UInt64: Result<Void, AMQPError>]>([:])
        func record(_ sequence: UInt64, _ result: Result<Void, AMQPError>) { values.withLock { $0[sequence] = result } }
        func code(_ sequence: UInt64) -> String {
            switch values.withLock({ $0[sequence] }) {
            case nil: return "pending"
            case .success?: return "ok"
            case .failure(let error)?: return error.code.rawValue
            }
        }
    }

    private func register(_ count: Int, _ tracker: inout ConfirmTracker, _ outcomes: Outcomes) {
        for _ in 0..<count {
            let sequence = tracker.nextSequence
            _ = tracker.register(operation: "publish \(sequence)") { outcomes.record(sequence, $0) }
        }
    }

    @Test func multipleAckSettlesEverythingUpToTheTag() {
        var tracker = ConfirmTracker()
        let outcomes = Outcomes()
        register(5, &tracker, outcomes)
        tracker.settle(tag: 3, multiple: true, acked: true)
        #expect((1...5).map(outcomes.code) == ["ok", "ok", "ok", "pending", "pending"])
        tracker.settle(tag: 5, multiple: false, acked: false)
        #expect((1...5).map(outcomes.code) == ["ok", "ok", "ok", "pending", "nacked"])
        #expect(tracker.outstanding == 1)
    }

    @Test func aReturnedMessageFailsWhenItsAckArrives() {
        var tracker = ConfirmTracker()
        let outcomes = Outcomes()
        register(3, &tracker, outcomes)
        tracker.markReturned(2, replyCode: 312, replyText: "NO_ROUTE", exchange: "amq.direct", routingKey: "nowhere")
        #expect(outcomes.code(2) == "pending")
        tracker.settle(tag: 3, multiple: true, acked: true)
        #expect((1...3).map(outcomes.code) == ["ok", "unroutable", "ok"])
    }

    @Test func failAllAndResetStartANewChannel() {
        var tracker = ConfirmTracker()
        let outcomes = Outcomes()
        register(2, &tracker, outcomes)
        tracker.failAll(AMQPError(.connectionLost, operation: "publish", message: "gone"))
        #expect((1...2).map(outcomes.code) == ["connectionLost", "connectionLost"])
        tracker.reset()
        #expect(tracker.nextSequence == 1)
        #expect(tracker.outstanding == 0)
    }

    @Test func duplicateOrUnknownConfirmsAreHarmless() {
        var tracker = ConfirmTracker()
        let outcomes = Outcomes()
        register(1, &tracker, outcomes)
        tracker.settle(tag: 1, multiple: false, acked: true)
        tracker.settle(tag: 1, multiple: false, acked: false)
        tracker.settle(tag: 9, multiple: true, acked: true)
        #expect(outcomes.code(1) == "ok")
    }
}
