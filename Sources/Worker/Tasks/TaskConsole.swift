import Shared
import Synchronization

/// A job's console: masks secure values in everything written, keeps UTF-8 characters whole
/// across chunks, remembers when something was last written (for the inactivity timeout), and
/// hands the text to the sink in order, from a single task, so a slow sink never reorders it.
final class TaskConsole: Sendable {
    /// Receives console text in order.
    typealias Sink = @Sendable (String) async -> Void

    private struct Pipe {
        var masker: SecretMasker
        /// The start of a UTF-8 character whose remaining bytes have not arrived yet.
        var carry: [UInt8] = []

        /// Masks `bytes` and returns the text that can be shown now.
        mutating func write(_ bytes: [UInt8]) -> String {
            let masked = carry + masker.mask(bytes)
            let complete = TaskConsole.completeCharacterPrefix(masked)
            carry = Array(masked[complete...])
            return String(decoding: masked[..<complete], as: UTF8.self)
        }
    }

    private struct State {
        var stdout: Pipe
        var stderr: Pipe
        var lastActivity = ContinuousClock.now
        var atLineStart = true
    }

    private let secrets: [String]
    private let state: Mutex<State>
    private let continuation: AsyncStream<String>.Continuation
    private let forwarder: Task<Void, Never>

    init(secrets: [String], sink: @escaping Sink) {
        self.secrets = secrets
        state = Mutex(State(stdout: Pipe(masker: SecretMasker(secrets: secrets)), stderr: Pipe(masker: SecretMasker(secrets: secrets))))
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .unbounded)
        self.continuation = continuation
        forwarder = Task {
            for await text in stream { await sink(text) }
        }
    }

    /// When the job last wrote anything: process output or one of Relevo's lines.
    var lastActivity: ContinuousClock.Instant { state.withLock { $0.lastActivity } }

    /// Writes one of Relevo's own lines (`[relevo] …`), starting a new line if needed.
    func line(_ text: String) {
        let masked = SecretMasker.mask(text, secrets: secrets)
        state.withLock { state in
            state.lastActivity = .now
            emit((state.atLineStart ? "" : "\n") + masked + "\n", &state)
        }
    }

    /// Writes a chunk of a task's output.
    func output(_ chunk: ProcessOutput) {
        state.withLock { state in
            state.lastActivity = .now
            let text: String
            switch chunk.source {
            case .stdout: text = state.stdout.write(chunk.bytes)
            case .stderr: text = state.stderr.write(chunk.bytes)
            }
            emit(text, &state)
        }
    }

    /// Writes whatever output was held back; call when a task's process has ended.
    func flushOutput() {
        state.withLock { state in
            for keyPath in [\State.stdout, \State.stderr] {
                var pipe = state[keyPath: keyPath]
                let bytes = pipe.carry + pipe.masker.flush()
                pipe.carry = []
                state[keyPath: keyPath] = pipe
                if !bytes.isEmpty { emit(String(decoding: bytes, as: UTF8.self), &state) }
            }
        }
    }

    /// Flushes, then waits until the sink has received everything.
    func close() async {
        flushOutput()
        continuation.finish()
        await forwarder.value
    }

    private func emit(_ text: String, _ state: inout State) {
        guard let last = text.utf8.last else { return }
        state.atLineStart = last == UInt8(ascii: "\n")
        continuation.yield(text)
    }

    /// The length of the longest prefix of `bytes` that does not end inside a UTF-8 character.
    static func completeCharacterPrefix(_ bytes: [UInt8]) -> Int {
        // Look back at most 3 bytes for the lead byte of the last character.
        var index = bytes.count - 1
        while index >= 0, index >= bytes.count - 4 {
            let byte = bytes[index]
            if byte & 0b1100_0000 != 0b1000_0000 {
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                return bytes.count - index >= length ? bytes.count : index
            }
            index -= 1
        }
        return bytes.count
    }
}
