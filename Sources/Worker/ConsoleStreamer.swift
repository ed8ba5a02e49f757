import Foundation
import Logging
import Shared

/// Turns a job's console output into numbered `console` events: text is gathered for a short
/// moment (or until a chunk is big enough) so that a chatty task does not become one message per
/// line, and chunks are published in order, each numbered so the scheduler stores it once.
actor ConsoleStreamer {
    private let attempt: JobAttempt
    private let publisher: EventPublisher
    private let flushInterval: Duration
    private let maximumChunk: Int
    private var buffer = ""
    private var sequence = 0
    private var flushTask: Task<Void, Never>?
    private var publishing: Task<Void, Never>?

    init(attempt: JobAttempt, publisher: EventPublisher, flushInterval: Duration = .milliseconds(100), maximumChunk: Int = 16 * 1024) {
        self.attempt = attempt
        self.publisher = publisher
        self.flushInterval = flushInterval
        self.maximumChunk = maximumChunk
    }

    /// Adds text to the console.
    func write(_ text: String) {
        buffer += text
        if buffer.utf8.count >= maximumChunk {
            flushNow()
        } else if flushTask == nil {
            let interval = flushInterval
            flushTask = Task { [weak self] in
                do { try await Task.sleep(for: interval) } catch { return }  // cancelled: flushed already
                await self?.flushNow()
            }
        }
    }

    /// Publishes what is buffered and waits until every chunk so far has been published.
    func finish() async {
        flushNow()
        await publishing?.value
    }

    /// Waits until every chunk published so far is out, and returns what is still buffered
    /// (numbered as the next chunk) for the caller to send with its `finished` event.
    func finishKeepingTail() async -> ConsoleChunk? {
        flushTask?.cancel()
        flushTask = nil
        await publishing?.value
        guard !buffer.isEmpty else { return nil }
        let tail = ConsoleChunk(sequence: sequence, text: buffer)
        sequence += 1
        buffer = ""
        return tail
    }

    private func flushNow() {
        flushTask?.cancel()
        flushTask = nil
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
