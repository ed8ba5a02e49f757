import Shared
import Testing

@Suite struct AMQPTopologyTests {
    @Test func queueArgumentsAreSpelledOutFromTypedFields() {
        let queue = QueueDefinition(name: "relevo.serial.createrepo-dev", kind: .quorum, singleActiveConsumer: true,
                                    deadLetterExchange: "", deadLetterRoutingKey: "relevo.dead", deliveryLimit: 5,
                                    extraArguments: ["x-max-length": 100])
        #expect(queue.arguments == [
            "x-queue-type": "quorum",
            "x-single-active-consumer": true,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "relevo.dead",
            "x-delivery-limit": 5,
            "x-max-length": 100,
        ])
        #expect(QueueDefinition(name: "plain").arguments.isEmpty)
    }

    @Test func mergingReplacesByNameAndKeepsBindingsUnique() {
        let first = AMQPTopology(exchanges: [ExchangeDefinition(name: "e")],
                                 queues: [QueueDefinition(name: "q")],
                                 bindings: [BindingDefinition(queue: "q", exchange: "e", routingKey: "k")])
        let second = AMQPTopology(queues: [QueueDefinition(name: "q", kind: .quorum), QueueDefinition(name: "r")],
                                  bindings: [BindingDefinition(queue: "q", exchange: "e", routingKey: "k")])
        let merged = first.merging(second)
        #expect(merged.exchanges.map(\.name) == ["e"])
        #expect(merged.queues.map(\.name) == ["q", "r"])
        #expect(merged.queues.first?.kind == .quorum)
        #expect(merged.bindings.count == 1)
        #expect(merged.removingQueue("q").queues.map(\.name) == ["r"])
        #expect(merged.removingQueue("q").bindings.isEmpty)
    }

    @Test(arguments: [
        (AMQPError.Code.connectionLost, nil as UInt16?, true),
        (.notConnected, nil, true),
        (.nacked, nil, true),
        (.timeout, nil, true),
        (.connectionClosed, 320, true),
        (.connectionClosed, 530, false),
        (.channelClosed, 404, false),
        (.channelClosed, 406, false),
        (.unroutable, 312, false),
        (.authenticationFailed, 403, false),
        (.staleDelivery, nil, false),
        (.closed, nil, false),
    ])
    func retriableClassification(_ code: AMQPError.Code, _ replyCode: UInt16?, _ retriable: Bool) {
        #expect(AMQPError(code, operation: "op", message: "m", replyCode: replyCode).isRetriable == retriable)
    }

    @Test func errorsNameTheOperation() {
        let error = AMQPError(.channelClosed, operation: "declare queue q", message: "PRECONDITION_FAILED", replyCode: 406)
        #expect(error.description == "declare queue q: channelClosed (406): PRECONDITION_FAILED")
    }
}
