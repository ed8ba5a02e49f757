import GRDB

/// Why a ``SchedulerStore`` operation failed. Every store method throws only this type.
struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure.
    enum Code: String, Sendable, CaseIterable {
        /// The file could not be opened, or the schema could not be migrated.
        case openFailed
        /// The database is busy or locked by another connection; try again.
        case busy
        /// SQLite reported an error (constraint, I/O, full disk…).
        case database
        /// A stored row could not be read back into a value (a bug, or a file edited by hand).
        case corruptRow
        /// The pipeline run, job or agent named does not exist.
        case notFound
        /// The state machine refused the event; ``SchedulerStore/apply(_:pipeline:counter:at:)``
        /// wrote nothing. ``StoreError/scheduling`` says why.
        case illegalTransition
    }

    /// What kind of failure.
    var code: Code
    /// The store operation that failed, e.g. `apply jobFinished to build/3`.
    var operation: String
    /// What went wrong.
    var message: String
    /// The state machine's refusal, for ``Code/illegalTransition``.
    var scheduling: SchedulingError?

    /// Whether the same operation may succeed if tried again.
    var isRetriable: Bool { code == .busy }

    /// `operation: code: message`.
    var description: String { "\(operation): \(code.rawValue): \(message)" }

    /// Creates an error.
    init(code: Code, operation: String, message: String, scheduling: SchedulingError? = nil) {
        self.code = code
        self.operation = operation
        self.message = message
        self.scheduling = scheduling
    }

    /// The one funnel from whatever a database closure threw to a ``StoreError``.
    init(operation: String, wrapping error: any Error) {
        switch error {
        case let error as StoreError:
            self = error
            self.operation = operation
        case let error as SchedulingError:
            self.init(code: .illegalTransition, operation: operation, message: error.description, scheduling: error)
        case let error as DatabaseError:
            let busy = error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
            self.init(code: busy ? .busy : .database, operation: operation, message: error.description)
        case let error as DecodingError:
            self.init(code: .corruptRow, operation: operation, message: String(describing: error))
        default:
            self.init(code: .database, operation: operation, message: String(describing: error))
        }
    }
}
