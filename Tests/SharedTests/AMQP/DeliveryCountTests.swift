import Shared
import Testing

/// `x-delivery-count` comes from whoever published the message as much as from the broker: any
/// value is taken without trapping.
@Suite struct DeliveryCountTests {
    @Test(arguments: [(nil, 0), (AMQPValue.int(3), 3), (.int(Int64.max), 1_000_000), (.int(-5), 0), (.string("7"), 0)])
    func anyHeaderValueGivesABoundedCount(_ value: AMQPValue?, _ expected: Int) {
        let headers: [String: AMQPValue] = value.map { ["x-delivery-count": $0] } ?? [:]
        let count = AMQPDelivery.deliveryCount(in: headers)
        #expect(count == expected)
        // What the worker does with it: no overflow.
        #expect(count + 1 > count)
    }
}
