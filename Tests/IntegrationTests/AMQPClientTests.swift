import Shared
import Testing

/// The AMQP client against the real broker that the test command starts.
@Suite(.timeLimit(.minutes(2))) struct AMQPClientTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func publishConfirmConsumeAck() async throws {
        let queue = TestBroker.uniqueName("basic")
        let publisher = try await AMQPClient.connect(TestBroker.settings("basic-pub"))
        let consumerClient = try await AMQPClient.connect(TestBroker.settings("basic-con"))
        try await publisher.declare(AMQPTopology(queues: [QueueDefinition(name: queue)]))
        for index in 1...3 {
            try await publisher.publish(bytes("m\(index)"), exchange: "", routingKey: queue,
                                        properties: MessageProperties(contentType: "text/plain", headers: ["n": .int(Int64(index))], messageID: "id-\(index)"))
        }
        #expect(try await publisher.queueStatus(queue).messages == 3)

        let collector = DeliveryCollector(try await consumerClient.consume(queue: queue, prefetch: 10))
        try await eventually(10, "three deliveries") { collector.count == 3 }
        let deliveries = collector.deliveries
        #expect(deliveries.map(\.text) == ["m1", "m2", "m3"])
        #expect(deliveries.map { $0.headers["n"] } == [.int(1), .int(2), .int(3)])
        #expect(deliveries.allSatisfy { !$0.redelivered && $0.properties.persistent && $0.properties.contentType == "text/plain" })
        #expect(deliveries.map(\.properties.messageID) == ["id-1", "id-2", "id-3"])
        for delivery in deliveries { try await delivery.ack() }
        try await eventually(10, "queue drained") { try await publisher.queueStatus(queue).messages == 0 }

        _ = try await publisher.deleteQueue(queue)
        await consumerClient.close()
        await publisher.close()
    }

    @Test func aPausedConsumerGetsNothingNewAndCanStillAckWhatItHas() async throws {
        let queue = TestBroker.uniqueName("pause")
        let client = try await AMQPClient.connect(TestBroker.settings("pause"))
        try await client.declare(AMQPTopology(queues: [QueueDefinition(name: queue, kind: .quorum)]))
        try await client.publish(bytes("m1"), exchange: "", routingKey: queue)
        let pausedConsumer = try await client.consume(queue: queue, prefetch: 1)
        let paused = DeliveryCollector(pausedConsumer)
        try await eventually(10, "first delivery") { paused.count == 1 }
        await pausedConsumer.pause()
        await pausedConsumer.pause()  // idempotent
        for index in 2...4 { try await client.publish(bytes("m\(index)"), exchange: "", routingKey: queue) }
        // Another consumer gets every new message; the paused one holds m1 and gets none.
        let other = DeliveryCollector(try await client.consume(queue: queue, prefetch: 10))
        try await eventually(10, "the others to the other consumer") { other.count == 3 }
        #expect(other.texts == ["m2", "m3", "m4"])
        for delivery in other.deliveries { try await delivery.ack() }
        // Its channel is open: m1 is acked, not handed out again, and was delivered only once.
        try await paused.deliveries[0].ack()
        try await eventually(10, "queue drained") { try await client.queueStatus(queue).messages == 0 }
        #expect(paused.texts == ["m1"] && other.count == 3)
        await pausedConsumer.cancel()
        _ = try await client.deleteQueue(queue)
        await client.close()
    }

    @Test func nackWithRequeueComesBackRedelivered() async throws {
        let queue = TestBroker.uniqueName("nack")
        let client = try await AMQPClient.connect(TestBroker.settings("nack"))
        try await client.declare(AMQPTopology(queues: [QueueDefinition(name: queue)]))
        try await client.publish(bytes("again"), exchange: "", routingKey: queue)
        let collector = DeliveryCollector(try await client.consume(queue: queue, prefetch: 1))
        try await eventually(10, "first delivery") { collector.count == 1 }
        #expect(collector.deliveries[0].redelivered == false)
        try await collector.deliveries[0].nack(requeue: true)
        try await eventually(10, "redelivery") { collector.count == 2 }
        #expect(collector.deliveries[1].text == "again")
        #expect(collector.deliveries[1].redelivered == true)
        try await collector.deliveries[1].ack()
        try await client.publish(bytes("after"), exchange: "", routingKey: queue)
        try await eventually(10, "delivery after the ack") { collector.texts.contains("after") }
        _ = try await client.deleteQueue(queue)
        await client.close()
    }

    @Test func manyPublishesWaitForConfirmsTogether() async throws {
        let queue = TestBroker.uniqueName("window")
        let client = try await AMQPClient.connect(TestBroker.settings("window"))
        try await client.declare(AMQPTopology(queues: [QueueDefinition(name: queue, kind: .quorum)]))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<500 {
                group.addTask { try await client.publish(Array("\(index)".utf8), exchange: "", routingKey: queue) }
            }
            try await group.waitForAll()
        }
        #expect(try await client.queueStatus(queue).messages == 500)
        _ = try await client.deleteQueue(queue)
        await client.close()
    }

    @Test func aBatchPublishReportsEachMessageAndAnAckThroughTheNewestSettlesEveryDelivery() async throws {
        let queue = TestBroker.uniqueName("batch")
        let client = try await AMQPClient.connect(TestBroker.settings("batch"))
        try await client.declare(AMQPTopology(queues: [QueueDefinition(name: queue, kind: .quorum)]))
        let messages = (1...5).map { AMQPClient.OutgoingMessage(body: bytes("b\($0)"), exchange: "", routingKey: queue) }
            + [AMQPClient.OutgoingMessage(body: bytes("lost"), exchange: "amq.direct", routingKey: "no-such-binding")]
        let errors = await client.publish(messages)
        #expect(errors.count == 6)
        #expect(errors.prefix(5).allSatisfy { $0 == nil })
        #expect(errors[5]?.code == .unroutable)
        #expect(try await client.queueStatus(queue).messages == 5)
        #expect(await client.publish([]).isEmpty)

        let collector = DeliveryCollector(try await client.consume(queue: queue, prefetch: 10))
        try await eventually(10, "five deliveries") { collector.count == 5 }
        #expect(collector.texts == ["b1", "b2", "b3", "b4", "b5"])
        let acked = await AMQPDelivery.ackThrough(collector.deliveries)
        #expect(acked.count == 5 && acked.allSatisfy { $0 == nil })
        #expect(await collector.deliveries[0].isLive())
        await client.close()
        // After the close, deliveries are no longer live; and nothing came back to the queue
        // (closing requeues whatever is unacked): every delivery was settled.
        #expect(await !collector.deliveries[0].isLive())
        let other = try await AMQPClient.connect(TestBroker.settings("batch-check"))
        #expect(try await other.queueStatus(queue).messages == 0)
        _ = try await other.deleteQueue(queue)
        await other.close()
    }

    @Test func ackThroughSettlesUpToTheNewestGivenAndNoFurther() async throws {
        let queue = TestBroker.uniqueName("through")
        let client = try await AMQPClient.connect(TestBroker.settings("through"))
        try await client.declare(AMQPTopology(queues: [QueueDefinition(name: queue, kind: .quorum)]))
        let errors = await client.publish((1...6).map { AMQPClient.OutgoingMessage(body: bytes("t\($0)"), exchange: "", routingKey: queue) })
        #expect(errors.allSatisfy { $0 == nil })
        let collector = DeliveryCollector(try await client.consume(queue: queue, prefetch: 10))
        try await eventually(10, "six deliveries") { collector.count == 6 }
        let first = collector.deliveries
        // t3 is handed back first; t1, t2, t4 acked with one frame (for t4); t5 and t6 stay unacked.
        try await first[2].nack(requeue: true)
        let acked = await AMQPDelivery.ackThrough([first[0], first[3], first[1]])
        #expect(acked.allSatisfy { $0 == nil })
        try await eventually(10, "t3 again") { collector.count == 7 }
        #expect(collector.deliveries[6].text == "t3")
        await client.close()
        // Closing requeues what is unacked: t5, t6 and the second t3; nothing else came back.
        let other = try await AMQPClient.connect(TestBroker.settings("through-check"))
        #expect(try await other.queueStatus(queue).messages == 3)
        _ = try await other.deleteQueue(queue)
        await other.close()
    }

    @Test func unroutableAndRefusedPublishesThrowAndTheClientCarriesOn() async throws {
        let queue = TestBroker.uniqueName("route")
        let client = try await AMQPClient.connect(TestBroker.settings("route"))
        try await client.declare(AMQPTopology(queues: [QueueDefinition(name: queue)]))

        await #expect {
            try await client.publish(bytes("x"), exchange: "amq.direct", routingKey: "no-such-binding")
        } throws: { ($0 as? AMQPError)?.code == .unroutable }

        await #expect {
            try await client.publish(bytes("x"), exchange: "relevo.test.no-such-exchange", routingKey: "k")
        } throws: { ($0 as? AMQPError)?.code == .channelClosed && ($0 as? AMQPError)?.replyCode == 404 }

        // Without mandatory, an unroutable message is confirmed and dropped, as AMQP says.
        try await client.publish(bytes("x"), exchange: "amq.direct", routingKey: "no-such-binding", mandatory: false)

        // The publish channel was reopened: publishing still works and confirms.
        try await client.publish(bytes("ok"), exchange: "", routingKey: queue)
        #expect(try await client.queueStatus(queue).messages == 1)
        _ = try await client.deleteQueue(queue)
        await client.close()
    }

    @Test func redeclaringWithOtherArgumentsIsRefusedClearly() async throws {
        let queue = TestBroker.uniqueName("args")
        let client = try await AMQPClient.connect(TestBroker.settings("args"))
        try await client.declare(AMQPTopology(queues: [QueueDefinition(name: queue, kind: .quorum)]))
        await #expect {
            try await client.declare(AMQPTopology(queues: [QueueDefinition(name: queue, kind: .classic)]))
        } throws: { error in
            guard let error = error as? AMQPError else { return false }
            return error.code == .channelClosed && error.replyCode == 406 && !error.isRetriable
                && error.operation == "declare queue \(queue)"
        }
        #expect(try await client.queueStatus(queue).messages == 0)
        await #expect { try await client.queueStatus(TestBroker.uniqueName("missing")) } throws: { ($0 as? AMQPError)?.replyCode == 404 }
        _ = try await client.deleteQueue(queue)
        await client.close()
    }

    @Test func aConsumerCutMidDeliveryLosesTheMessageToAnotherConsumer() async throws {
        let queue = TestBroker.uniqueName("cut")
        let first = try await AMQPClient.connect(TestBroker.settings("cut-a"))
        let second = try await AMQPClient.connect(TestBroker.settings("cut-b"))
        try await first.declare(AMQPTopology(queues: [QueueDefinition(name: queue)]))
        let firstCollector = DeliveryCollector(try await first.consume(queue: queue, prefetch: 1))
        try await first.publish(bytes("job"), exchange: "", routingKey: queue)
        try await eventually(10, "the first consumer's delivery") { firstCollector.count == 1 }
        let secondCollector = DeliveryCollector(try await second.consume(queue: queue, prefetch: 1))

        await first.simulateNetworkFailure()
        try await eventually(15, "redelivery to the second consumer") { secondCollector.count == 1 }
        #expect(secondCollector.deliveries[0].text == "job")
        #expect(secondCollector.deliveries[0].redelivered)
        // The first consumer's tag belongs to a dead channel: settling it must not reach the broker.
        await #expect { try await firstCollector.deliveries[0].ack() } throws: { ($0 as? AMQPError)?.code == .staleDelivery }
        try await secondCollector.deliveries[0].ack()

        _ = try await second.deleteQueue(queue)
        await first.close()
        await second.close()
    }

    @Test func singleActiveConsumerHandsOverInOrder() async throws {
        let queue = TestBroker.uniqueName("sac")
        let definition = QueueDefinition(name: queue, kind: .quorum, singleActiveConsumer: true, deliveryLimit: 5)
        let first = try await AMQPClient.connect(TestBroker.settings("sac-a"))
        let second = try await AMQPClient.connect(TestBroker.settings("sac-b"))
        try await first.declare(AMQPTopology(queues: [definition]))
        try await second.declare(AMQPTopology(queues: [definition]))
        let firstCollector = DeliveryCollector(try await first.consume(queue: queue, prefetch: 1))
        let secondCollector = DeliveryCollector(try await second.consume(queue: queue, prefetch: 1))
        for index in 1...3 { try await first.publish(bytes("m\(index)"), exchange: "", routingKey: queue) }

        try await eventually(10, "m1 at the active consumer") { firstCollector.count == 1 }
        try await firstCollector.deliveries[0].ack()
        try await eventually(10, "m2 at the active consumer") { firstCollector.count == 2 }
        #expect(firstCollector.texts == ["m1", "m2"])
        #expect(secondCollector.count == 0, "the waiting consumer must receive nothing while the active one lives")

        await first.simulateNetworkFailure()
        try await eventually(15, "m2 and m3 at the consumer that took over") { secondCollector.count >= 1 }
        #expect(secondCollector.deliveries[0].text == "m2")
        #expect(secondCollector.deliveries[0].redelivered)
        #expect(secondCollector.deliveries[0].deliveryCount == 1)
        try await secondCollector.deliveries[0].ack()
        try await eventually(10, "m3") { secondCollector.count == 2 }
        #expect(secondCollector.texts == ["m2", "m3"])
        try await secondCollector.deliveries[1].ack()
        #expect(firstCollector.texts == ["m1", "m2"], "the old consumer got nothing more after it reconnected")

        _ = try await second.deleteQueue(queue)
        await first.close()
        await second.close()
    }

    @Test func aBusyConsumerStaysConnectedThroughHeartbeats() async throws {
        let queue = TestBroker.uniqueName("busy")
        let client = try await AMQPClient.connect(TestBroker.settings("busy", heartbeat: 1))
        let events = EventRecorder(client)
        try await client.declare(AMQPTopology(queues: [QueueDefinition(name: queue)]))
        try await client.publish(bytes("long job"), exchange: "", routingKey: queue)
        let consumer = try await client.consume(queue: queue)
        var iterator = consumer.makeAsyncIterator()
        let delivery = try #require(try await iterator.next())
        // The application is busy for over three heartbeat intervals without touching the client.
        try await Task.sleep(for: .milliseconds(3500))
        try await delivery.ack()
        #expect(!events.contains(\.isDisconnected), "events: \(events.all)")
        #expect(try await client.queueStatus(queue) == (messages: 0, consumers: 1))
        _ = try await client.deleteQueue(queue)
        await client.close()
    }

    @Test func aQueueDeletedUnderAConsumerEndsItWithAnError() async throws {
        let queue = TestBroker.uniqueName("deleted")
        let client = try await AMQPClient.connect(TestBroker.settings("deleted"))
        let admin = try await AMQPClient.connect(TestBroker.settings("deleted-admin"))
        let events = EventRecorder(client)
        try await client.declare(AMQPTopology(queues: [QueueDefinition(name: queue)]))
        let collector = DeliveryCollector(try await client.consume(queue: queue))
        _ = try await admin.deleteQueue(queue)
        try await eventually(10, "the consumer to end") { collector.isFinished }
        #expect((collector.endError as? AMQPError)?.code == .consumerCancelled)
        try await eventually(5, "the cancel event") { events.contains { $0 == .consumerCancelled(queue: queue) } }
        // The client itself is fine.
        #expect(await client.isConnected)
        await client.close()
        await admin.close()
    }

    @Test func closingEndsConsumersAndReturnsUnackedMessages() async throws {
        let queue = TestBroker.uniqueName("close")
        let client = try await AMQPClient.connect(TestBroker.settings("close"))
        let observer = try await AMQPClient.connect(TestBroker.settings("close-observer"))
        try await client.declare(AMQPTopology(queues: [QueueDefinition(name: queue)]))
        try await client.publish(bytes("unfinished"), exchange: "", routingKey: queue)
        let collector = DeliveryCollector(try await client.consume(queue: queue))
        try await eventually(10, "delivery") { collector.count == 1 }
        await client.close()
        try await eventually(10, "the consumer to end") { collector.isFinished }
        #expect(collector.endError == nil)
        #expect(try await observer.queueStatus(queue) == (messages: 1, consumers: 0))
        await #expect { try await client.publish(bytes("late"), exchange: "", routingKey: queue) } throws: { ($0 as? AMQPError)?.code == .closed || ($0 as? AMQPError)?.code == .notConnected }
        _ = try await observer.deleteQueue(queue)
        await observer.close()
    }

    @Test func badCredentialsAndNoBrokerAreClearErrors() async throws {
        var settings = try TestBroker.settings("auth")
        settings.password = "wrong"
        await #expect {
            _ = try await AMQPClient.connect(settings)
        } throws: { ($0 as? AMQPError)?.code == .authenticationFailed }

        var nowhere = try AMQPSettings(url: "amqp://guest:guest@127.0.0.1:1/")
        nowhere.connectTimeout = .seconds(1)
        await #expect {
            _ = try await AMQPClient.connect(nowhere)
        } throws: { ($0 as? AMQPError)?.code == .connectionFailed }
    }
}
