import Logging
import Shared
import Synchronization
import Testing

@testable import Scheduler

/// Events the store cannot take now are held and tried again, never handed back to the broker
/// (where each return counts towards the delivery limit).
@Suite struct PatientEventApplierTests {
    static let attempt = JobAttempt(jobRunID: JobRunID(pipeline: "app", pipelineCounter: 1, stage: "build", job: "compile"), attempt: 1)
    static let busy = StoreError(code: .busy, operation: "apply", message: "database is locked")
    static let refused = StoreError(code: .illegalTransition, operation: "apply", message: "no")

    @Test func eventsTheStoreCannotTakeAreTriedAgainUntilTheyApply() async throws {
        let calls = Mutex<[[WorkerEvent]]>([])
        let pauses = Mutex<[Duration]>([])
        let events: [WorkerEvent] = [.taskStarted(Self.attempt, index: 0), .finished(Self.attempt, result: .passed),
                                     .finished(Self.attempt, result: .unknown)]
        let applier = PatientEventApplier(
            apply: { batch in
                let call = calls.withLock { $0.append(batch); return $0.count }
                // The store is locked for the first four tries; the refused event stays refused.
                return batch.map { event in
                    if case .finished(_, .unknown, _, _) = event { return .refused(Self.refused) }
                    return call <= 4 ? .retry(Self.busy) : .done
                }
            },
            policy: AMQPSettings.ReconnectPolicy(initial: .milliseconds(10), maximum: .milliseconds(40), jitter: 0),
            sleep: { delay in pauses.withLock { $0.append(delay) } },
            logger: Logger(label: "test"))
        let outcomes = await applier(events)
        #expect(outcomes.count == 3)
        #expect(outcomes.prefix(2).allSatisfy { if case .done = $0 { true } else { false } })
        if case .refused = outcomes[2] {} else { Issue.record("\(outcomes[2])") }
        // Only the held events are tried again; the pauses grow up to the maximum.
        #expect(calls.withLock { $0.map(\.count) } == [3, 2, 2, 2, 2])
        #expect(pauses.withLock { $0 } == [.milliseconds(10), .milliseconds(20), .milliseconds(40), .milliseconds(40)])
    }

    @Test func whenThePauseIsCutShortTheHeldEventsAreLeftForTheCallerToHandBack() async {
        let applier = PatientEventApplier(apply: { $0.map { _ in .retry(Self.busy) } },
                                          sleep: { _ in throw CancellationError() }, logger: Logger(label: "test"))
        let outcomes = await applier([.taskStarted(Self.attempt, index: 0)])
        guard case .retry? = outcomes.first else { Issue.record("\(outcomes)"); return }
    }
}
