import Foundation
import Logging
import Shared

/// What this machine allows, measured in the same run through the same client Relevo uses:
/// a "scheduler" publishes a persistent 1 KiB message with a confirm to a durable quorum queue
/// (as Relevo's job queues are), a "worker" consumes it, spawns `/bin/true` with Shared's
/// ProcessRunner, publishes a persistent reply with a confirm and acks; the scheduler side
/// consumes the reply. Each side has separate publishing and consuming connections, as Relevo's.
struct Floor: Sendable {
    var roundTrip = Samples()
    var spawn = Samples()
    var messages = 0
    var seconds = 0.0
    var messagesPerSecond: Double { seconds > 0 ? Double(messages) / seconds : 0 }

    private static let jobs = "bench.floor.jobs"
    private static let replies = "bench.floor.replies"

    static func measure(brokerURL: String, roundTrips: Int, pipelined: Int, concurrency: Int) async throws -> Floor {
        var logger = Logger(label: "relevo.bench.floor")
        logger.logLevel = .warning
        var clients: [AMQPClient] = []
        func connect(_ name: String) async throws -> AMQPClient {
            let client = try await AMQPClient.connect(try AMQPSettings(url: brokerURL, connectionName: "relevo-bench floor (\(name))"), logger: logger)
            clients.append(client)
            return client
        }
        do {
            let topology = AMQPTopology(queues: [QueueDefinition(name: jobs, kind: .quorum), QueueDefinition(name: replies, kind: .quorum)])
            let schedulerPublisher = try await connect("scheduler publish")
            let schedulerConsumer = try await connect("scheduler consume")
            let workerPublisher = try await connect("worker publish")
            let workerConsumer = try await connect("worker consume")
            try await schedulerPublisher.declare(topology)

            var floor = Floor()
            floor.spawn = try await measureSpawn(count: roundTrips)
            floor.roundTrip = try await measureRoundTrips(
                count: roundTrips, publisher: schedulerPublisher, replies: schedulerConsumer,
                worker: (workerConsumer, workerPublisher))
            (floor.messages, floor.seconds) = try await measurePipelined(
                count: pipelined, concurrency: concurrency, publisher: schedulerPublisher, replies: schedulerConsumer,
                worker: (workerConsumer, workerPublisher))
            _ = try await schedulerPublisher.deleteQueue(jobs)
            _ = try await schedulerPublisher.deleteQueue(replies)
            for client in clients { await client.close() }
            return floor
        } catch {
            for client in clients { await client.close() }
            throw error
        }
    }

    private static let body = [UInt8](repeating: UInt8(ascii: "x"), count: 1024)
    private static let task = ProcessSpec(executable: "/bin/true", environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/")

    /// `/bin/true` alone, through ProcessRunner.
    private static func measureSpawn(count: Int) async throws -> Samples {
        var samples = Samples()
        for _ in 0..<count {
            let start = ContinuousClock.now
            let status = try await ProcessRunner().run(task)
            guard status.isSuccess else { throw BenchError("run /bin/true", "it ended \(status)") }
            samples.add((ContinuousClock.now - start).milliseconds)
        }
        return samples
    }

    /// The worker's part: take a job, run `/bin/true`, reply with a confirm, ack; up to
    /// `concurrency` at once (the consumer's prefetch).
    private static func work(consumer client: AMQPClient, publisher: AMQPClient, concurrency: Int, count: Int) async throws {
        let consumer = try await client.consume(queue: jobs, prefetch: UInt16(concurrency))
        try await cancelling(consumer) { consumer in try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            var taken = 0
            for try await delivery in consumer {
                if running == concurrency {
                    try await group.next()
                    running -= 1
                }
                group.addTask {
                    let status = try await ProcessRunner().run(task)
                    guard status.isSuccess else { throw BenchError("run /bin/true", "it ended \(status)") }
                    try await publisher.publish(delivery.body, exchange: "", routingKey: replies)
                    try await delivery.ack()
                }
                running += 1
                taken += 1
                if taken == count { break }
            }
            try await group.waitForAll()
        } }
    }

    /// One job at a time: publish, wait for its reply.
    private static func measureRoundTrips(count: Int, publisher: AMQPClient, replies client: AMQPClient,
                                          worker: (AMQPClient, AMQPClient)) async throws -> Samples {
        let replyConsumer = try await client.consume(queue: replies, prefetch: 1)
        return try await cancelling(replyConsumer) { replyConsumer in try await withThrowingTaskGroup(of: Samples?.self) { group in
            group.addTask {
                try await work(consumer: worker.0, publisher: worker.1, concurrency: 1, count: count)
                return nil
            }
            group.addTask {
                var samples = Samples()
                var iterator = replyConsumer.makeAsyncIterator()
                for _ in 0..<count {
                    let start = ContinuousClock.now
                    try await publisher.publish(body, exchange: "", routingKey: jobs)
                    guard let reply = try await iterator.next() else { throw BenchError("read replies", "the consumer ended") }
                    samples.add((ContinuousClock.now - start).milliseconds)
                    try await reply.ack()
                }
                return samples
            }
            var samples = Samples()
            for try await result in group { if let result { samples = result } }
            return samples
        } }
    }

    /// `count` jobs published at once (64 confirms outstanding at most), worked `concurrency`
    /// at a time; returns how many replies came back and the seconds from the first publish
    /// to the last reply.
    private static func measurePipelined(count: Int, concurrency: Int, publisher: AMQPClient, replies client: AMQPClient,
                                         worker: (AMQPClient, AMQPClient)) async throws -> (Int, Double) {
        let replyConsumer = try await client.consume(queue: replies, prefetch: 256)
        let start = ContinuousClock.now
        return try await cancelling(replyConsumer) { replyConsumer in try await withThrowingTaskGroup(of: (Int, Double)?.self) { group in
            group.addTask {
                try await work(consumer: worker.0, publisher: worker.1, concurrency: concurrency, count: count)
                return nil
            }
            group.addTask {
                try await withThrowingTaskGroup(of: Void.self) { publishes in
                    for index in 0..<count {
                        if index >= 64 { try await publishes.next() }
                        publishes.addTask { try await publisher.publish(body, exchange: "", routingKey: jobs) }
                    }
                    try await publishes.waitForAll()
                }
                return nil
            }
            group.addTask {
                var received = 0
                for try await reply in replyConsumer {
                    try await reply.ack()
                    received += 1
                    if received == count { break }
                }
                return (received, (ContinuousClock.now - start).milliseconds / 1000)
            }
            var outcome = (0, 0.0)
            for try await result in group { if let result { outcome = result } }
            return outcome
        } }
    }

    /// Runs `body` with `consumer`, then cancels the consumer on every path.
    private static func cancelling<T>(_ consumer: AMQPConsumer, _ body: (AMQPConsumer) async throws -> T) async throws -> T {
        do {
            let result = try await body(consumer)
            await consumer.cancel()
            return result
        } catch {
            await consumer.cancel()
            throw error
        }
    }
}
