/// The one error type of the AMQP boundary: what failed, why, and whether trying again can help.
public struct AMQPError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is; callers branch on this, never on the message text.
    public enum Code: String, Sendable, Equatable {
        /// The broker URL or a setting is malformed.
        case invalidSettings
        /// The TCP (or TLS) connection could not be opened.
        case connectionFailed
        /// The broker refused the credentials or the virtual host.
        case authenticationFailed
        /// The connection died (socket error, heartbeat timeout, broker restart). The outcome of
        /// any publish that was waiting for its confirm is unknown.
        case connectionLost
        /// The client is between connections; try again after it has reconnected.
        case notConnected
        /// The broker closed a channel because of an operation (e.g. 404 no such queue,
        /// 406 arguments differ from the existing queue).
        case channelClosed
        /// The broker closed the whole connection on purpose (e.g. 320 shutdown, 530 not allowed).
        case connectionClosed
        /// The broker refused to take responsibility for a published message (basic.nack).
        case nacked
        /// A mandatory publish could not be routed to any queue (basic.return).
        case unroutable
        /// The broker cancelled a consumer (its queue was deleted, or its node went away).
        case consumerCancelled
        /// An ack/nack/reject for a delivery whose channel has since closed: the broker has
        /// already requeued the message, so nothing was sent.
        case staleDelivery
        /// A broker round trip took longer than the client allows.
        case timeout
        /// The client was closed by its owner.
        case closed
        /// librabbitmq reported an error that fits none of the above.
        case library
    }

    /// What kind of failure this is.
    public let code: Code
    /// The operation that failed, e.g. `publish to relevo.jobs`, `declare queue relevo.dead`.
    public let operation: String
    /// A human-readable reason (the broker's reply text where there is one).
    public let message: String
    /// The AMQP reply code sent by the broker (404, 406, 320…), when the broker sent one.
    public let replyCode: UInt16?

    /// Creates an error; `replyCode` is the broker's AMQP reply code when there is one.
    public init(_ code: Code, operation: String, message: String, replyCode: UInt16? = nil) {
        self.code = code
        self.operation = operation
        self.message = message
        self.replyCode = replyCode
    }

    /// Whether the same operation may succeed if tried again later (after a reconnect, or once
    /// the broker is back). Configuration mistakes and refusals are not retriable.
    public var isRetriable: Bool {
        switch code {
        case .connectionFailed, .connectionLost, .notConnected, .nacked, .timeout:
            return true
        case .connectionClosed:
            // 320 CONNECTION_FORCED: the broker is shutting down or an operator closed us.
            return replyCode == 320
        case .channelClosed:
            // 404 / 403 / 406 / 405 are caused by what we asked; 320/541 by the broker's state.
            return replyCode.map { $0 == 320 || $0 == 541 || $0 == 505 } ?? false
        case .invalidSettings, .authenticationFailed, .unroutable, .consumerCancelled,
             .staleDelivery, .closed, .library:
            return false
        }
    }

    public var description: String {
        let code = replyCode.map { " (\($0))" } ?? ""
        return "\(operation): \(self.code.rawValue)\(code): \(message)"
    }
}
