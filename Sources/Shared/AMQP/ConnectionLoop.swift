internal import CRabbitMQ
import Foundation
import Glibc
import Logging
import Synchronization

/// The thread that owns one broker connection: it runs the commands the client sends it, pumps
/// frames (so heartbeats are serviced however busy the application is), matches publisher
/// confirms, hands deliveries to consumers, and reconnects with backoff when the connection dies.
///
/// `@unchecked Sendable` because only two members are touched from other threads: `inbox` (a
/// `Mutex`) and `wakeDescriptor` (an eventfd; `write` on it is atomic). Everything else is
/// confined to the loop's own thread.
final class ConnectionLoop: @unchecked Sendable {
    /// A unit of work run on the loop's thread.
    typealias Command = @Sendable (ConnectionLoop) -> Void

    /// Channel for declarations and other synchronous calls.
    static let controlChannel: UInt16 = 1
    /// Channel for publishing, in confirm mode, on a new connection.
    static let firstPublishChannel: UInt16 = 2
    /// Where the publish channel moves when it is replaced (see ``replacePublishChannel(on:)``):
    /// numbers no consumer takes, so that frames still arriving for the old one are ignored.
    static let replacementPublishChannels: ClosedRange<UInt16> = 2040...2046
    /// Consumers get channels from here on, one each.
    static let firstConsumerChannel: UInt16 = 3

    let settings: AMQPSettings
    let logger: Logger
    let events: EventHub<AMQPEvent>
    private let inbox = Mutex<(commands: [Command], closed: Bool)>(([], false))
    /// Serialises commands that arrive after the thread has ended (see `enqueue`).
    private let afterClose = Mutex<Void>(())
    private let wakeDescriptor: Int32
    /// A copy of `channelGenerations` that any thread may read: whether a delivery is still
    /// live is answered without a trip to the loop's thread.
    private let liveChannels = Mutex<[UInt16: UInt64]>([:])

    // Confined to the loop thread from here on.
    var connection: RabbitConnection?
    var connectionCount = 0
    /// The node of `settings.addresses` connected to, or tried next.
    var addressIndex = 0
    /// The channel publishes go to now, and when it was last replaced.
    var publishChannel = ConnectionLoop.firstPublishChannel
    var publishChannelReplacedAt: ContinuousClock.Instant?
    var lastConnectError: AMQPError?
    var topology = AMQPTopology()
    var consumers: [UInt64: ConsumerRecord] = [:]
    var consumerByChannel: [UInt16: UInt64] = [:]
    var channelGenerations: [UInt16: UInt64] = [:] {
        didSet { liveChannels.withLock { $0 = channelGenerations } }
    }
    var generationCounter: UInt64 = 0
    var nextConsumerID: UInt64 = 1
    var confirms = ConfirmTracker()
    var connectWaiters: [(Result<Void, AMQPError>) -> Void] = []
    private var stopping = false
    private var closeWaiters: [() -> Void] = []
    private var reconnectAttempt = 0
    private var nextConnectAt = ContinuousClock.now
    private var lastInputAt = ContinuousClock.now

    /// A consumer as the loop tracks it across channel reopenings and reconnects.
    struct ConsumerRecord {
        let queue: String
        let prefetch: UInt16
        let exclusive: Bool
        let arguments: [String: AMQPValue]
        let continuation: AsyncThrowingStream<AMQPDelivery, any Error>.Continuation
        var channel: UInt16?
        var tag: String?
        /// Paused: no new deliveries (basic.cancel sent); the channel stays open so that what was
        /// delivered can still be settled. Not consumed again after a reconnect.
        var paused = false
    }

    init(settings: AMQPSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.events = EventHub()
        self.wakeDescriptor = CRabbitMQ_wakeDescriptor()
    }

    deinit {
        close(wakeDescriptor)
    }

    /// Whether `tag`'s channel is still the one it was delivered on (safe from any thread).
    func isLive(_ tag: DeliveryTag) -> Bool {
        liveChannels.withLock { $0[tag.channel] == tag.channelGeneration }
    }

    /// Starts the loop's thread.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "amqp:\(settings.connectionName)"
        thread.start()
    }

    /// Queues `command` for the loop's thread and wakes it.
    ///
    /// Once the thread has ended, commands run at once on the caller's thread, one at a time;
    /// they then find no connection and answer with an error instead of waiting forever.
    func enqueue(_ command: @escaping Command) {
        let queued = inbox.withLock { inbox -> Bool in
            if inbox.closed { return false }
            inbox.commands.append(command)
            return true
        }
        if queued {
            var one: UInt64 = 1
            _ = write(wakeDescriptor, &one, 8)
        } else {
            afterClose.withLock { _ in command(self) }
        }
    }

    /// Runs `body` on the loop's thread and returns its result to the caller.
    func perform<T: Sendable>(_ body: @escaping @Sendable (ConnectionLoop) throws(AMQPError) -> T) async throws(AMQPError) -> T {
        let result: Result<T, AMQPError> = await withCheckedContinuation { continuation in
            enqueue { loop in
                do throws(AMQPError) {
                    continuation.resume(returning: .success(try body(loop)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    // MARK: The loop

    private func run() {
        while true {
            runInbox()
            if stopping { break }
            if connection == nil {
                if ContinuousClock.now >= nextConnectAt {
                    connect()
                } else {
                    waitForWake(until: nextConnectAt)
                }
                continue
            }
            pump()
        }
        shutDown()
    }

    private func runInbox(closing: Bool = false) {
        let commands = inbox.withLock { inbox in
            let taken = inbox.commands
            inbox.commands.removeAll()
            if closing { inbox.closed = true }
            return taken
        }
        for command in commands { command(self) }
    }

    /// Waits for input on the socket or a command, at most a quarter of the heartbeat (and at
    /// most 200 ms), then reads every frame that is ready.
    private func pump() {
        guard let connection else { return }
        if !connection.hasBufferedInput {
            let heartbeat = connection.heartbeatSeconds
            let timeout = heartbeat > 0 ? min(200, heartbeat * 250) : 200
            var descriptors = [
                pollfd(fd: connection.socketDescriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&descriptors, 2, Int32(timeout))
            if descriptors[1].revents != 0 { drainWake() }
            if descriptors[0].revents != 0 { lastInputAt = .now }
        }
        do throws(AMQPError) {
            // Reads what is ready; with nothing ready this still sends a heartbeat when due.
            var budget = 256
            while budget > 0, let frame = try connection.nextFrame() {
                lastInputAt = .now
                try handle(frame, on: connection)
                budget -= 1
                if !connection.hasBufferedInput { break }
            }
            connection.releaseBuffers()
        } catch {
            connectionDied(error)
            return
        }
        let heartbeat = connection.heartbeatSeconds
        if heartbeat > 0, ContinuousClock.now - lastInputAt > .seconds(2 * heartbeat + 1) {
            connectionDied(AMQPError(.connectionLost, operation: "read from broker",
                                     message: "no data from the broker for \(2 * heartbeat + 1) s (missed heartbeats)"))
        }
    }

    private func waitForWake(until deadline: ContinuousClock.Instant) {
        let remaining = deadline - ContinuousClock.now
        let milliseconds = max(0, min(1000, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
        var descriptor = pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, Int32(milliseconds))
        if descriptor.revents != 0 { drainWake() }
    }

    private func drainWake() {
        var value: UInt64 = 0
        _ = read(wakeDescriptor, &value, 8)
    }

    // MARK: Connecting and recovering

    private func connect() {
        do throws(AMQPError) {
            let fresh = try RabbitConnection.open(settings.at(settings.addresses[addressIndex]))
            try fresh.openChannel(Self.controlChannel)
            publishChannel = Self.firstPublishChannel
            try fresh.openChannel(publishChannel)
            try fresh.confirmSelect(publishChannel)
            connection = fresh
            connectionCount += 1
            lastInputAt = .now
            confirms.reset()
            try declareOnConnection(topology)
            for id in consumers.keys.sorted() where consumers[id]?.paused != true {
                do throws(AMQPError) {
                    try startConsumer(id)
                } catch where error.code == .channelClosed {
                    finishConsumer(id, error: error)
                }
            }
            reconnectAttempt = 0
            logger.info("AMQP connected", metadata: ["endpoint": "\(endpoint)", "connection": "\(settings.connectionName)", "count": "\(connectionCount)"])
            events.send(.connected(attempt: connectionCount))
            if connectionCount > 1 { events.send(.recovered) }
            let waiters = connectWaiters
            connectWaiters.removeAll()
            for waiter in waiters { waiter(.success(())) }
        } catch {
            connection = nil
            lastConnectError = error
            reconnectAttempt += 1
            let delay = settings.reconnect.delay(attempt: reconnectAttempt)
            nextConnectAt = .now + delay
            logger.warning("AMQP connection attempt failed", metadata: [
                "endpoint": "\(endpoint)", "attempt": "\(reconnectAttempt)", "error": "\(error)", "retryIn": "\(delay)"])
            for waiter in connectWaiters { waiter(.failure(error)) }
            connectWaiters.removeAll()
            nextAddress()
        }
    }

    /// Where the next connection attempt goes: the next node of a cluster (a node that failed or
    /// died is tried again only after the others).
    private func nextAddress() {
        addressIndex = (addressIndex + 1) % settings.addresses.count
    }

    /// The node connected to (or being tried), for logs.
    private var endpoint: String { settings.at(settings.addresses[addressIndex]).endpoint }

    /// Forgets the dead connection: every unconfirmed publish fails, every delivery tag becomes
    /// stale, consumers wait for the next connection; a reconnect is scheduled.
    func connectionDied(_ error: AMQPError) {
        guard connection != nil else { return }
        connection = nil
        channelGenerations.removeAll()
        consumerByChannel.removeAll()
        for id in consumers.keys {
            consumers[id]?.channel = nil
            consumers[id]?.tag = nil
        }
        confirms.failAll(AMQPError(.connectionLost, operation: "publish",
                                   message: "the connection died before the broker confirmed (\(error.message)); the message may or may not have been delivered"))
        logger.warning("AMQP connection lost", metadata: ["endpoint": "\(endpoint)", "connection": "\(settings.connectionName)", "error": "\(error)"])
        nextAddress()
        events.send(.disconnected(error))
        reconnectAttempt = 1
        nextConnectAt = .now + settings.reconnect.delay(attempt: 1)
    }

    /// Runs a synchronous broker call; a closed channel is reopened, a dead connection is
    /// recovered, and either way the error is passed on to the caller.
    func rpc<T>(_ body: (RabbitConnection) throws(AMQPError) -> T) throws(AMQPError) -> T {
        guard let connection else {
            if stopping { throw AMQPError(.closed, operation: "broker call", message: "the client is closed") }
            throw AMQPError(.notConnected, operation: "broker call", message: "not connected to \(endpoint); reconnecting")
        }
        do throws(AMQPError) {
            return try body(connection)
        } catch where error.code == .channelClosed {
            do throws(AMQPError) {
                try connection.openChannel(Self.controlChannel)
            } catch {
                connectionDied(error)
            }
            throw error
        } catch {
            connectionDied(error)
            throw error
        }
    }

    func declareOnConnection(_ topology: AMQPTopology) throws(AMQPError) {
        try rpc { (connection) throws(AMQPError) in
            for exchange in topology.exchanges { try connection.declare(exchange, channel: Self.controlChannel) }
            for queue in topology.queues { try connection.declare(queue, channel: Self.controlChannel) }
            for binding in topology.bindings { try connection.bind(binding, channel: Self.controlChannel) }
        }
    }

    // MARK: Consumers

    private func freeConsumerChannel() -> UInt16 {
        var channel = Self.firstConsumerChannel
        while consumerByChannel[channel] != nil || channelGenerations[channel] != nil { channel += 1 }
        return channel
    }

    /// Opens a channel for consumer `id`, sets its prefetch and starts consuming.
    func startConsumer(_ id: UInt64) throws(AMQPError) {
        guard let connection, let record = consumers[id] else { return }
        let channel = freeConsumerChannel()
        do throws(AMQPError) {
            try connection.openChannel(channel)
            generationCounter += 1
            channelGenerations[channel] = generationCounter
            try connection.qos(channel, prefetch: record.prefetch)
            let tag = try connection.consume(record.queue, exclusive: record.exclusive, arguments: record.arguments, channel: channel)
            consumers[id]?.channel = channel
            consumers[id]?.tag = tag
            consumerByChannel[channel] = id
        } catch where error.code == .channelClosed {
            channelGenerations[channel] = nil
            throw error
        } catch {
            connectionDied(error)
            throw error
        }
    }

    /// Ends consumer `id`'s stream (normally, or with `error`) and forgets it.
    func finishConsumer(_ id: UInt64, error: AMQPError?) {
        guard let record = consumers.removeValue(forKey: id) else { return }
        if let channel = record.channel {
            consumerByChannel[channel] = nil
        }
        if let error { record.continuation.finish(throwing: error) } else { record.continuation.finish() }
    }

    /// Stops new deliveries to consumer `id` (basic.cancel) and keeps its channel open: what it
    /// was given can still be acked or handed back, and its stream goes on until ``cancelConsumer(_:)``.
    func pauseConsumer(_ id: UInt64) {
        guard let record = consumers[id], !record.paused else { return }
        consumers[id]?.paused = true
        guard let connection, let channel = record.channel, let tag = record.tag else { return }
        do throws(AMQPError) {
            try connection.cancel(consumerTag: tag, channel: channel)
            consumers[id]?.tag = nil
        } catch where error.code == .channelClosed {
            channelGenerations[channel] = nil
        } catch {
            connectionDied(error)
        }
    }

    /// Cancels consumer `id` on the broker (basic.cancel before channel.close, so that acks sent
    /// just before are not lost), then closes its channel and ends its stream.
    func cancelConsumer(_ id: UInt64) {
        guard let record = consumers[id] else { return }
        if let connection, let channel = record.channel {
            do throws(AMQPError) {
                if let tag = record.tag { try connection.cancel(consumerTag: tag, channel: channel) }
                try connection.closeChannel(channel)
                channelGenerations[channel] = nil
            } catch where error.code == .channelClosed {
                channelGenerations[channel] = nil
            } catch {
                connectionDied(error)
            }
        }
        finishConsumer(id, error: nil)
    }

    // MARK: Shutdown

    /// Asks the loop to cancel consumers, close the connection and end its thread.
    func requestStop(_ done: @escaping () -> Void) {
        closeWaiters.append(done)
        stopping = true
    }

    private func shutDown() {
        for id in consumers.keys.sorted() { cancelConsumer(id) }
        confirms.failAll(AMQPError(.closed, operation: "publish", message: "the client was closed before the broker confirmed"))
        if let connection {
            connection.close()
            self.connection = nil
        }
        channelGenerations.removeAll()
        for waiter in connectWaiters { waiter(.failure(AMQPError(.closed, operation: "connect", message: "the client was closed"))) }
        connectWaiters.removeAll()
        logger.debug("AMQP client closed", metadata: ["connection": "\(settings.connectionName)"])
        events.send(.closed)
        events.finish()
        // Commands that raced with the close still get an answer; later ones run at once, on
        // their callers' threads, one at a time behind the same lock.
        afterClose.withLock { _ in runInbox(closing: true) }
        for waiter in closeWaiters { waiter() }
    }

    var isStopping: Bool { stopping }
}
