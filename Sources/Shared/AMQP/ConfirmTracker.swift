/// Matches publisher confirms to publishes on one confirm-mode channel: each publish gets the
/// next sequence number; `basic.ack`/`basic.nack` (possibly `multiple`) settle them; a
/// `basic.return` marks one as unroutable before its ack arrives.
struct ConfirmTracker {
    typealias Completion = (Result<Void, AMQPError>) -> Void

    private(set) var nextSequence: UInt64 = 1
    private var pending: [UInt64: (operation: String, completion: Completion)] = [:]
    private var returned: [UInt64: AMQPError] = [:]

    /// How many publishes wait for their confirm.
    var outstanding: Int { pending.count }

    /// Registers a publish about to be sent; returns its sequence number.
    mutating func register(operation: String, _ completion: @escaping Completion) -> UInt64 {
        let sequence = nextSequence
        nextSequence += 1
        pending[sequence] = (operation, completion)
        return sequence
    }

    /// The publish with `sequence` could not be sent at all.
    mutating func fail(_ sequence: UInt64, _ error: AMQPError) {
        pending.removeValue(forKey: sequence)?.completion(.failure(error))
    }

    /// The broker returned the message published as `sequence` (mandatory, no queue bound).
    mutating func markReturned(_ sequence: UInt64, replyCode: UInt16, replyText: String, exchange: String, routingKey: String) {
        guard let entry = pending[sequence] else { return }
        returned[sequence] = AMQPError(.unroutable, operation: entry.operation,
                                       message: "\(replyText): no queue is bound to exchange '\(exchange)' for key '\(routingKey)'",
                                       replyCode: replyCode)
    }

    /// `basic.ack` or `basic.nack` for `tag` (and every earlier one if `multiple`).
    mutating func settle(tag: UInt64, multiple: Bool, acked: Bool) {
        let sequences = multiple ? pending.keys.filter { $0 <= tag }.sorted() : [tag]
        for sequence in sequences {
            guard let entry = pending.removeValue(forKey: sequence) else { continue }
            if let error = returned.removeValue(forKey: sequence) {
                entry.completion(.failure(error))
            } else if acked {
                entry.completion(.success(()))
            } else {
                entry.completion(.failure(AMQPError(.nacked, operation: entry.operation,
                                                    message: "the broker refused the message (basic.nack)")))
            }
        }
    }

    /// Every waiting publish fails with `error` (channel or connection gone).
    mutating func failAll(_ error: AMQPError) {
        let entries = pending.sorted { $0.key < $1.key }
        pending.removeAll()
        returned.removeAll()
        for (_, entry) in entries {
            entry.completion(.failure(AMQPError(error.code, operation: entry.operation, message: error.message, replyCode: error.replyCode)))
        }
    }

    /// A fresh confirm-mode channel numbers its publishes from 1 again.
    mutating func reset() {
        failAll(AMQPError(.connectionLost, operation: "publish", message: "channel reopened before the broker confirmed"))
        nextSequence = 1
    }
}
