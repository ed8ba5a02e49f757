import Foundation
import Logging
import Shared
import Synchronization

/// Turns a job's console output into numbered `console` events: text is gathered for a short
/// moment (or until a chunk is big enough) so that a chatty task does not become one message per
/// line, and chunks are published in order, each numbered so the scheduler stores it once.
actor ConsoleStreamer {
    private let attempt: JobAttempt
    private let publisher: EventPublisher
    private let flusher: ConsoleFlusher
    private let maximumChunk: Int
    private var buffer = ""
    private var sequence = 0
    private var publishing: Task<Void, Never>?
    /// Set when the caller takes the tail: the flusher leaves the rest to it.
    private var tailTaken = false

    init(attempt: JobAttempt, publisher: EventPublisher, flusher: ConsoleFlusher = .shared, maximumChunk: Int = 16 * 1024) {
        self.attempt = attempt
        self.publisher = publisher
        self.flusher = flusher
        self.maximumChunk = maximumChunk
    }

    /// Adds text to the console.
    func write(_ text: String) {
        let wasEmpty = buffer.isEmpty
        buffer += text
        if buffer.utf8.count >= maximumChunk {
            flushNow()
        } else if wasEmpty {
            flusher.schedule(self)
        }
    }

    /// Publishes what is buffered (called by the flusher when its moment has passed).
    func flush() {
        if !tailTaken { flushNow() }
    }

    /// Publishes what is buffered and waits until every chunk so far has been published.
    func finish() async {
        flushNow()
        await publishing?.value
    }

    /// Waits until every chunk published so far is out, and returns what is still buffered
    /// (numbered as the next chunk) for the caller to send with its `finished` event.
    func finishKeepingTail() async -> ConsoleChunk? {
        tailTaken = true
        await publishing?.value
        guard !buffer.isEmpty else { return nil }
        let tail = ConsoleChunk(sequence: sequence, text: buffer)
        sequence += 1
        buffer = ""
        return tail
    }

    private func flushNow() {
        guard !buffer.isEmpty else { return }
        let event = WorkerEvent.console(attempt, sequence: sequence, text: buffer)
        let label = "\(attempt.jobRunID)#\(attempt.attempt) chunk \(sequence)"
        sequence += 1
        buffer = ""
        let previous = publishing
        let publisher = self.publisher
        publishing = Task {
            await previous?.value
            do {
                try await publisher.publish(event, patience: .seconds(30))
            } catch {
                publisher.logger.warning("console chunk lost", metadata: ["chunk": "\(label)", "error": "\(error)"])
            }
        }
    }
}

/// Flushes the consoles that have text waiting, `interval` after the first of them got some:
/// one timer for all the jobs of the worker rather than one per job (a busy worker runs
/// hundreds of short jobs a second, and every timer armed and cancelled costs a thread wake-up).
/// A console's text therefore waits at most `interval` before it is published.
final class ConsoleFlusher: Sendable {
    static let shared = ConsoleFlusher(interval: .milliseconds(100))

    let interval: Duration
    private let state = Mutex<(waiting: [ObjectIdentifier: ConsoleStreamer], ticking: Bool)>(([:], false))

    init(interval: Duration) {
        self.interval = interval
    }

    /// `streamer` has text waiting: it is flushed at the end of the current moment.
    func schedule(_ streamer: ConsoleStreamer) {
        let start = state.withLock { state -> Bool in
            state.waiting[ObjectIdentifier(streamer)] = streamer
            defer { state.ticking = true }
            return !state.ticking
        }
        guard start else { return }
        Task {
            try? await Task.sleep(for: interval)
            let due = state.withLock { state -> [ConsoleStreamer] in
                let due = Array(state.waiting.values)
                state.waiting.removeAll()
                state.ticking = false
                return due
            }
            for streamer in due { await streamer.flush() }
        }
    }
}
