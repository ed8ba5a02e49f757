import Shared
import Testing

/// Recovery when the broker itself goes away: a private node is stopped and started again while
/// a publisher and a consumer run.
@Suite(.timeLimit(.minutes(3))) struct BrokerRestartTests {
    /// What the publisher and the consumer saw, by message number.
    final class Ledger: Sendable {
        let state = Locked<(confirmed: Set<Int>, failed: Set<Int>, consumed: Set<Int>)>(([], [], []))
        var confirmed: Set<Int> { state.withLock { $0.confirmed } }
        var failed: Set<Int> { state.withLock { $0.failed } }
        var consumed: Set<Int> { state.withLock { $0.consumed } }
    }

    @Test func publisherAndConsumerRecoverAndNoConfirmedMessageIsLost() async throws {
        try await PrivateBroker.with { broker in
            let queue = TestBroker.uniqueName("restart")
            let topology = AMQPTopology(queues: [QueueDefinition(name: queue, kind: .classic)])
            var publisherSettings = try AMQPSettings(url: broker.url, connectionName: "test:restart-pub")
            publisherSettings.heartbeatSeconds = 2
            var consumerSettings = try AMQPSettings(url: broker.url, connectionName: "test:restart-con")
            consumerSettings.heartbeatSeconds = 2
            let publisher = try await AMQPClient.connect(publisherSettings)
            let consumerClient = try await AMQPClient.connect(consumerSettings)
            let publisherEvents = EventRecorder(publisher)
            let consumerEvents = EventRecorder(consumerClient)
            try await publisher.declare(topology)
            try await consumerClient.declare(topology)
            let ledger = Ledger()
            let consumer = try await consumerClient.consume(queue: queue, prefetch: 20)

            // The consumer acks everything it gets; settling a delivery from before a reconnect
            // fails (stale) and the broker redelivers it, so it is still counted once consumed.
            let consuming = Task {
                while !Task.isCancelled {
                    do {
                        for try await delivery in consumer {
                            do {
                                try await delivery.ack()
                                if let number = Int(delivery.text) { ledger.state.withLock { _ = $0.consumed.insert(number) } }
                            } catch let error as AMQPError where error.code == .staleDelivery || error.code == .notConnected {
                                continue
                            }
                        }
                        return
                    } catch {
                        return
                    }
                }
            }
            // The publisher publishes one message at a time until told to stop.
            let stopPublishing = Locked(false)
            let publishing = Task {
                var number = 0
                while !stopPublishing.withLock({ $0 }) {
                    number += 1
                    do {
                        try await publisher.publish(Array(String(number).utf8), exchange: "", routingKey: queue)
                        ledger.state.withLock { _ = $0.confirmed.insert(number) }
                    } catch {
                        ledger.state.withLock { _ = $0.failed.insert(number) }
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                }
            }

            // A private node just started, while the other tests load both cores: give it time,
            // and say what was seen if it still falls short.
            do {
                try await eventually(60, "traffic before the restart") { ledger.consumed.count >= 50 }
            } catch {
                throw TestSetupError("no traffic before the restart after 60 s: \(ledger.confirmed.count) confirmed, "
                                     + "\(ledger.failed.count) failed, \(ledger.consumed.count) consumed; "
                                     + "publisher events \(publisherEvents.all), consumer events \(consumerEvents.all)")
            }
            // SIGKILL: the node gets no chance to flush anything it had not already confirmed.
            try await broker.stop(kill: true)
            try await eventually(20, "both clients to notice") {
                publisherEvents.contains(\.isDisconnected) && consumerEvents.contains(\.isDisconnected)
            }
            try await broker.start()
            try await eventually(60, "both clients to recover") {
                publisherEvents.contains(\.isRecovered) && consumerEvents.contains(\.isRecovered)
            }
            let confirmedBefore = ledger.confirmed.count
            try await eventually(30, "traffic after the restart") { ledger.confirmed.count >= confirmedBefore + 50 }
            stopPublishing.withLock { $0 = true }
            await publishing.value

            let confirmed = ledger.confirmed
            try await eventually(30, "every confirmed message to be consumed") { ledger.consumed.isSuperset(of: confirmed) }
            #expect(!ledger.failed.isEmpty, "publishes while the broker was down must have thrown")
            #expect(ledger.failed.isDisjoint(with: confirmed))

            consuming.cancel()
            await publisher.close()
            await consumerClient.close()
            publisherEvents.stop()
            consumerEvents.stop()
        }
    }
}
