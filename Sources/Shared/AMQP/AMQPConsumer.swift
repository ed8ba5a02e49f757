/// The deliveries of one consumer, in order. Iterate it with `for try await`.
public struct AMQPConsumer: AsyncSequence, Sendable {
    public typealias Element = AMQPDelivery

    /// The queue this consumer reads.
    public let queue: String
    private let stream: AsyncThrowingStream<AMQPDelivery, any Error>
    private let cancelAction: @Sendable () async -> Void

    init(queue: String, stream: AsyncThrowingStream<AMQPDelivery, any Error>, cancelAction: @escaping @Sendable () async -> Void) {
        self.queue = queue
        self.stream = stream
        self.cancelAction = cancelAction
    }

    public func makeAsyncIterator() -> AsyncThrowingStream<AMQPDelivery, any Error>.AsyncIterator {
        stream.makeAsyncIterator()
    }

    /// Stops the consumer: basic.cancel, then its channel closes; unacked deliveries return to
    /// the queue. The sequence ends.
    public func cancel() async {
        await cancelAction()
    }
}
