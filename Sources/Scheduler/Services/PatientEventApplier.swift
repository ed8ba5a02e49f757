import Logging
import Shared

/// Applies a burst of worker events and holds on to the ones the store cannot take for now
/// (busy, locked, disk trouble), trying them again after a growing pause, instead of handing them
/// back to the broker: every hand-back counts towards the events queue's delivery limit, and an
/// event past it (a job's result) would be dead-lettered and its job left waiting for ever. While
/// it waits, the consumer takes nothing new: what arrives stays in the queue or in its prefetch.
struct PatientEventApplier: Sendable {
    /// Applies events; one outcome per event (the engine's `handle`).
    let apply: @Sendable ([WorkerEvent]) async -> [SchedulerEngine.EventOutcome]
    /// Pauses between tries (from 100 ms up to `maximum`).
    var policy = AMQPSettings.ReconnectPolicy(initial: .milliseconds(100), maximum: .seconds(2))
    /// Waits; throws when the wait is cut short (shutdown), which ends the retrying.
    var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    let logger: Logger

    /// The outcome of each event. `.retry` remains only for events still not applied when a
    /// pause was cut short (the caller hands those back once).
    func callAsFunction(_ events: [WorkerEvent]) async -> [SchedulerEngine.EventOutcome] {
        var outcomes = await apply(events)
        var tries = 1
        while true {
            let waiting = outcomes.indices.filter { if case .retry = outcomes[$0] { true } else { false } }
            guard !waiting.isEmpty else { return outcomes }
            let delay = policy.delay(attempt: tries)
            if case .retry(let error) = outcomes[waiting[0]] {
                logger.warning("store unavailable; holding worker events and trying again", metadata: [
                    "events": "\(waiting.count)", "try": "\(tries)", "retryIn": "\(delay)", "error": "\(error)"])
            }
            do { try await sleep(delay) } catch { return outcomes }
            tries += 1
            let again = await apply(waiting.map { events[$0] })
            for (index, outcome) in zip(waiting, again) { outcomes[index] = outcome }
        }
    }
}
