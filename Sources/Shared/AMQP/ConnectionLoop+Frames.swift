internal import CRabbitMQ
import Logging

/// The header the client adds to mandatory publishes so that a `basic.return` can be matched to
/// the publish it belongs to.
let publishSequenceHeader = "x-relevo-publish-seq"

extension ConnectionLoop {
    /// Reacts to one frame from the broker. Throws only when the connection is unusable.
    func handle(_ frame: RabbitConnection.Frame, on connection: RabbitConnection) throws(AMQPError) {
        guard let method = frame.method, let decoded = frame.decoded else { return }
        switch method {
        case AMQP_BASIC_DELIVER_METHOD:
            let basicDeliver = decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            let consumerTag = CDecode.string(basicDeliver.consumer_tag)
            let exchange = CDecode.string(basicDeliver.exchange)
            let routingKey = CDecode.string(basicDeliver.routing_key)
            let (properties, body) = try connection.readContent(channel: frame.channel)
            deliver(channel: frame.channel, tag: basicDeliver.delivery_tag, redelivered: basicDeliver.redelivered != 0,
                    consumerTag: consumerTag, exchange: exchange, routingKey: routingKey, properties: properties, body: body)

        case AMQP_BASIC_ACK_METHOD where frame.channel == publishChannel:
            let ack = decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            confirms.settle(tag: ack.delivery_tag, multiple: ack.multiple != 0, acked: true)

        case AMQP_BASIC_NACK_METHOD where frame.channel == publishChannel:
            let nack = decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            confirms.settle(tag: nack.delivery_tag, multiple: nack.multiple != 0, acked: false)
            try replacePublishChannel(on: connection)

        case AMQP_BASIC_ACK_METHOD, AMQP_BASIC_NACK_METHOD:
            // A confirm for a publish channel that was replaced: its publishes were already failed.
            break

        case AMQP_BASIC_RETURN_METHOD:
            let returned = decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let replyCode = returned.reply_code
            let replyText = CDecode.string(returned.reply_text)
            let exchange = CDecode.string(returned.exchange)
            let routingKey = CDecode.string(returned.routing_key)
            let (properties, _) = try connection.readContent(channel: frame.channel)
            if let sequence = properties.headers[publishSequenceHeader]?.intValue {
                confirms.markReturned(UInt64(sequence), replyCode: replyCode, replyText: replyText, exchange: exchange, routingKey: routingKey)
            }

        case AMQP_BASIC_CANCEL_METHOD:
            // The broker cancelled a consumer: its queue was deleted or its node went away.
            guard let id = consumerByChannel[frame.channel], let record = consumers[id] else { return }
            let error = AMQPError(.consumerCancelled, operation: "consume from queue \(record.queue)",
                                  message: "the broker cancelled the consumer (queue deleted or unavailable)")
            logger.warning("AMQP consumer cancelled by the broker", metadata: ["queue": "\(record.queue)"])
            events.send(.consumerCancelled(queue: record.queue))
            finishConsumer(id, error: error)
            do throws(AMQPError) {
                try connection.closeChannel(frame.channel)
                channelGenerations[frame.channel] = nil
            } catch where error.code == .channelClosed {
                channelGenerations[frame.channel] = nil
            }

        case AMQP_CHANNEL_CLOSE_METHOD:
            let close = decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            let error = AMQPError(.channelClosed, operation: "channel \(frame.channel)", message: CDecode.string(close.reply_text),
                                  replyCode: close.reply_code)
            connection.sendChannelCloseOk(frame.channel)
            try channelClosed(frame.channel, error, on: connection)

        case AMQP_CONNECTION_CLOSE_METHOD:
            let close = decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            connection.sendConnectionCloseOk()
            throw AMQPError(.connectionClosed, operation: "connection to \(settings.endpoint)", message: CDecode.string(close.reply_text),
                            replyCode: close.reply_code)

        case AMQP_CONNECTION_BLOCKED_METHOD:
            let blocked = decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
            let reason = CDecode.string(blocked.reason)
            logger.warning("AMQP connection blocked by the broker", metadata: ["reason": "\(reason)"])
            events.send(.blocked(reason: reason))

        case AMQP_CONNECTION_UNBLOCKED_METHOD:
            logger.info("AMQP connection unblocked")
            events.send(.unblocked)

        default:
            logger.debug("AMQP frame ignored", metadata: ["method": "\(method)", "channel": "\(frame.channel)"])
        }
    }

    private func deliver(channel: UInt16, tag: UInt64, redelivered: Bool, consumerTag: String, exchange: String,
                         routingKey: String, properties: MessageProperties, body: [UInt8]) {
        guard let id = consumerByChannel[channel], let record = consumers[id], let generation = channelGenerations[channel] else {
            // A delivery racing with our own cancel. If its channel is still open, give it back at
            // once; if we closed it already, the broker has requeued it (a reject there would be
            // a protocol error that closes the connection).
            guard channelGenerations[channel] != nil else { return }
            do throws(AMQPError) {
                try connection?.settle(tag, .reject(requeue: true), channel: channel)
            } catch {
                connectionDied(error)
            }
            return
        }
        let delivery = AMQPDelivery(body: body, properties: properties, exchange: exchange, routingKey: routingKey,
                                    redelivered: redelivered, consumerTag: consumerTag,
                                    tag: DeliveryTag(channel: channel, channelGeneration: generation, value: tag),
                                    settler: LoopSettler(loop: self))
        record.continuation.yield(delivery)
    }

    /// The broker closed `channel`: its deliveries become stale; the channel is reopened and, if
    /// it belonged to a consumer, the consumer starts again (or ends with the error if it cannot).
    private func channelClosed(_ channel: UInt16, _ error: AMQPError, on connection: RabbitConnection) throws(AMQPError) {
        channelGenerations[channel] = nil
        logger.warning("AMQP channel closed by the broker", metadata: ["channel": "\(channel)", "error": "\(error)"])
        events.send(.channelClosed(channel: channel, error))
        switch channel {
        case Self.controlChannel:
            try connection.openChannel(channel)
        case publishChannel:
            confirms.failAll(AMQPError(.channelClosed, operation: "publish", message: error.message, replyCode: error.replyCode))
            confirms.reset()
            try connection.openChannel(channel)
            try connection.confirmSelect(channel)
        default:
            guard let id = consumerByChannel.removeValue(forKey: channel) else { return }
            consumers[id]?.channel = nil
            consumers[id]?.tag = nil
            do throws(AMQPError) {
                try startConsumer(id)
            } catch where error.code == .channelClosed {
                finishConsumer(id, error: error)
            }
        }
    }

    /// Publishes go to a new channel after the broker refused one (`basic.nack`), at most once a
    /// second. RabbitMQ 3.10 can keep refusing every publish of a channel to a quorum queue whose
    /// leader died while the channel was publishing to it (the channel's queue client stays in
    /// its rejecting state for as long as the channel lives; a new channel publishes at once):
    /// checked with a three-node cluster, one node SIGKILLed. Publishes not yet confirmed on the
    /// old channel fail (the broker may or may not have them), as on a lost connection.
    func replacePublishChannel(on connection: RabbitConnection) throws(AMQPError) {
        if let last = publishChannelReplacedAt, ContinuousClock.now - last < .seconds(1) { return }
        publishChannelReplacedAt = .now
        let old = publishChannel
        let range = Self.replacementPublishChannels
        let next = old >= range.lowerBound && old < range.upperBound ? old + 1 : range.lowerBound
        try connection.openChannel(next)
        try connection.confirmSelect(next)
        publishChannel = next
        confirms.failAll(AMQPError(.channelClosed, operation: "publish",
                                   message: "the broker refused a publish (basic.nack); publishes now go to a new channel and this one may or may not have been delivered"))
        confirms.reset()
        logger.warning("AMQP publish channel replaced after a nack", metadata: ["old": "\(old)", "new": "\(next)"])
        do throws(AMQPError) {
            try connection.closeChannel(old)
        } catch where error.code == .channelClosed {
            // Already closed by the broker: nothing to release.
        }
    }

    /// Acks, nacks or rejects a delivery, unless its channel has closed since it arrived.
    func settle(_ tag: DeliveryTag, _ settlement: Settlement) throws(AMQPError) {
        guard let connection, channelGenerations[tag.channel] == tag.channelGeneration else {
            throw AMQPError(.staleDelivery, operation: "settle delivery \(tag.value)",
                            message: "its channel closed since it was delivered; the broker has requeued it")
        }
        do throws(AMQPError) {
            try connection.settle(tag.value, settlement, channel: tag.channel)
        } catch {
            connectionDied(error)
            throw error
        }
    }
}

/// Routes `AMQPDelivery.ack()` and friends back to the loop that owns the channel.
struct LoopSettler: DeliverySettler {
    let loop: ConnectionLoop

    func settle(_ tag: DeliveryTag, _ settlement: Settlement) async throws(AMQPError) {
        try await loop.perform { (loop) throws(AMQPError) in try loop.settle(tag, settlement) }
    }

    func isLive(_ tag: DeliveryTag) async -> Bool {
        loop.isLive(tag)
    }

    var owner: ObjectIdentifier { ObjectIdentifier(loop) }
}
