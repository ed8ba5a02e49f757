/// The deliveries of one consumer, in order. Iterate it with `for try await`.
public struct AMQPConsumer: AsyncSequence, Sendable {
    public typealias Element = AMQPDelivery

    /// The queue this consumer reads.
    public let queue: String
    private let stream: AsyncThrowingStream<AMQPDelivery, any Error>
    private let cancelAction: @Sendable () async -> Void
    private let pauseAction: @Sendable () async -> Void

    init(queue: String, stream: AsyncThrowingStream<AMQPDelivery, any Error>, cancelAction: @escaping @Sendable () async -> Void,
         pauseAction: @escaping @Sendable () async -> Void) {
        self.queue = queue
        self.stream = stream
        self.cancelAction = cancelAction
        self.pauseAction = pauseAction
    }

    public func makeAsyncIterator() -> AsyncThrowingStream<AMQPDelivery, any Error>.AsyncIterator {
        stream.makeAsyncIterator()
    }

    /// Stops the consumer: basic.cancel, then its channel closes; unacked deliveries return to
    /// the queue. The sequence ends.
    public func cancel() async {
        await cancelAction()
    }

    /// Stops new deliveries (basic.cancel) and keeps the channel open: deliveries already
    /// received can still be acked or handed back, and the few the broker sent before it saw the
    /// cancel still arrive. For a consumer that cannot take work for a while (a worker disabled or
    /// stopping while jobs run): handing each new delivery back instead would bring it straight
    /// back, counting towards the queue's delivery limit. Call ``cancel()`` once the deliveries
    /// are settled. Idempotent.
    public func pause() async {
        await pauseAction()
    }
}
