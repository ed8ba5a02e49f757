/// Something of the benchmark's own broke (a process would not start, an instance never
/// finished, a job was lost). Figures are never errors: they are printed, not asserted.
struct BenchError: Error, CustomStringConvertible {
    /// What the benchmark was doing, e.g. "start the scheduler".
    let operation: String
    let message: String

    init(_ operation: String, _ message: String) {
        self.operation = operation
        self.message = message
    }

    var description: String { "cannot \(operation): \(message)" }
}
