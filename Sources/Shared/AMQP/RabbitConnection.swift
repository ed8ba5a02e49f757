internal import CRabbitMQ
import Glibc

/// Owns one librabbitmq connection handle and performs AMQP operations on it.
///
/// Not thread-safe by design: librabbitmq forbids using a connection from two threads, so an
/// instance is created, used and destroyed on its `ConnectionLoop`'s thread only. Every method
/// that fails throws an `AMQPError` naming the operation; when the broker closes a channel during
/// a call, the close is answered (close-ok) here and reported as `.channelClosed`.
final class RabbitConnection {
    let state: amqp_connection_state_t
    /// The heartbeat the broker and the client agreed on, in seconds (0 = none).
    let heartbeatSeconds: Int

    private init(state: amqp_connection_state_t, heartbeatSeconds: Int) {
        self.state = state
        self.heartbeatSeconds = heartbeatSeconds
    }

    deinit {
        amqp_destroy_connection(state)
    }

    /// Opens the socket, logs in with Relevo's client properties and capabilities, and returns the
    /// connection; on any failure the half-made handle is destroyed before the error is thrown.
    static func open(_ settings: AMQPSettings) throws(AMQPError) -> RabbitConnection {
        let operation = "connect to \(settings.endpoint)"
        guard let state = amqp_new_connection() else {
            throw AMQPError(.library, operation: operation, message: "amqp_new_connection returned NULL")
        }
        do {
            try openSocket(state, settings, operation: operation)
            try login(state, settings, operation: operation)
        } catch {
            amqp_destroy_connection(state)
            throw error
        }
        return RabbitConnection(state: state, heartbeatSeconds: Int(amqp_get_heartbeat(state)))
    }

    private static func openSocket(_ state: amqp_connection_state_t, _ settings: AMQPSettings, operation: String) throws(AMQPError) {
        let socket: OpaquePointer?
        if let tls = settings.tls {
            socket = amqp_ssl_socket_new(state)
            guard let socket else { throw AMQPError(.library, operation: operation, message: "could not create a TLS socket") }
            let status = amqp_ssl_socket_set_cacert(socket, tls.caFile)
            guard status == AMQP_STATUS_OK.rawValue else {
                throw AMQPError(.invalidSettings, operation: operation, message: "CA file \(tls.caFile): \(errorText(status))")
            }
            if let cert = tls.certFile, let key = tls.keyFile {
                let status = amqp_ssl_socket_set_key(socket, cert, key)
                guard status == AMQP_STATUS_OK.rawValue else {
                    throw AMQPError(.invalidSettings, operation: operation, message: "client certificate \(cert): \(errorText(status))")
                }
            }
            amqp_ssl_socket_set_verify_peer(socket, tls.verify ? 1 : 0)
            amqp_ssl_socket_set_verify_hostname(socket, tls.verify ? 1 : 0)
        } else {
            socket = amqp_tcp_socket_new(state)
        }
        guard let socket else { throw AMQPError(.library, operation: operation, message: "could not create a socket") }
        var connectTimeout = timeval(settings.connectTimeout)
        var rpcTimeout = timeval(settings.rpcTimeout)
        amqp_set_handshake_timeout(state, &connectTimeout)
        amqp_set_rpc_timeout(state, &rpcTimeout)
        let status = amqp_socket_open_noblock(socket, settings.host, Int32(settings.port), &connectTimeout)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionFailed, operation: operation, message: errorText(status))
        }
    }

    private static func login(_ state: amqp_connection_state_t, _ settings: AMQPSettings, operation: String) throws(AMQPError) {
        let properties: [String: AMQPValue] = [
            "product": "Relevo",
            "platform": "Swift",
            "connection_name": .string(settings.connectionName),
            "capabilities": .table([
                "consumer_cancel_notify": true,
                "connection.blocked": true,
                "publisher_confirms": true,
                "basic.nack": true,
                "exchange_exchange_bindings": true,
                "authentication_failure_close": true,
            ]),
        ]
        let reply = CArena.with { arena in
            var table = arena.table(properties)
            return CRabbitMQ_loginPlain(state, arena.cString(settings.virtualHost), 0, 131_072,
                                        Int32(settings.heartbeatSeconds), &table,
                                        arena.cString(settings.user), arena.cString(settings.password))
        }
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION where reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD:
            let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            let code: AMQPError.Code = (close.reply_code == 403 || close.reply_code == 530) ? .authenticationFailed : .connectionClosed
            throw AMQPError(code, operation: "log in to \(settings.endpoint) as \(settings.user)",
                            message: CDecode.string(close.reply_text), replyCode: close.reply_code)
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw AMQPError(.connectionFailed, operation: "log in to \(settings.endpoint) as \(settings.user)",
                            message: errorText(reply.library_error))
        default:
            throw AMQPError(.connectionFailed, operation: operation, message: "unexpected reply to login")
        }
    }

    /// The socket's file descriptor, for polling.
    var socketDescriptor: Int32 { amqp_get_sockfd(state) }

    /// Whether librabbitmq already holds frames or bytes that a read would return without
    /// touching the socket.
    var hasBufferedInput: Bool {
        amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0
    }

    // MARK: Channels

    func openChannel(_ channel: UInt16) throws(AMQPError) {
        _ = amqp_channel_open(state, channel)
        try check("open channel \(channel)", channel: channel)
    }

    func closeChannel(_ channel: UInt16) throws(AMQPError) {
        let reply = amqp_channel_close(state, channel, Int32(AMQP_REPLY_SUCCESS))
        try check(reply, "close channel \(channel)", channel: channel)
    }

    func confirmSelect(_ channel: UInt16) throws(AMQPError) {
        _ = amqp_confirm_select(state, channel)
        try check("enable publisher confirms on channel \(channel)", channel: channel)
    }

    func qos(_ channel: UInt16, prefetch: UInt16) throws(AMQPError) {
        // global = 0: the limit applies per consumer (global qos kills quorum-queue connections).
        _ = amqp_basic_qos(state, channel, 0, prefetch, 0)
        try check("set prefetch \(prefetch) on channel \(channel)", channel: channel)
    }

    // MARK: Topology

    func declare(_ exchange: ExchangeDefinition, channel: UInt16) throws(AMQPError) {
        CArena.with { arena in
            _ = amqp_exchange_declare(state, channel, arena.bytes(exchange.name), arena.bytes(exchange.kind.rawValue),
                                      0, exchange.durable ? 1 : 0, exchange.autoDelete ? 1 : 0, 0,
                                      arena.table(exchange.arguments))
        }
        try check("declare exchange \(exchange.name)", channel: channel)
    }

    /// Declares `queue` (or, with `passive`, checks that it exists); returns its message and
    /// consumer counts.
    @discardableResult
    func declare(_ queue: QueueDefinition, passive: Bool = false, channel: UInt16) throws(AMQPError) -> (messages: Int, consumers: Int) {
        let ok = CArena.with { arena in
            amqp_queue_declare(state, channel, arena.bytes(queue.name), passive ? 1 : 0, queue.durable ? 1 : 0,
                               queue.exclusive ? 1 : 0, queue.autoDelete ? 1 : 0,
                               passive ? amqp_empty_table : arena.table(queue.arguments))
        }
        try check(passive ? "look up queue \(queue.name)" : "declare queue \(queue.name)", channel: channel)
        guard let ok else { return (0, 0) }
        return (Int(ok.pointee.message_count), Int(ok.pointee.consumer_count))
    }

    func bind(_ binding: BindingDefinition, channel: UInt16) throws(AMQPError) {
        CArena.with { arena in
            _ = amqp_queue_bind(state, channel, arena.bytes(binding.queue), arena.bytes(binding.exchange),
                                arena.bytes(binding.routingKey), arena.table(binding.arguments))
        }
        try check("bind queue \(binding.queue) to \(binding.exchange) with '\(binding.routingKey)'", channel: channel)
    }

    /// Deletes a queue; returns how many messages it held.
    func deleteQueue(_ name: String, channel: UInt16) throws(AMQPError) -> Int {
        let ok = CArena.with { arena in amqp_queue_delete(state, channel, arena.bytes(name), 0, 0) }
        try check("delete queue \(name)", channel: channel)
        return ok.map { Int($0.pointee.message_count) } ?? 0
    }

    /// Removes every ready message from a queue; returns how many.
    func purgeQueue(_ name: String, channel: UInt16) throws(AMQPError) -> Int {
        let ok = CArena.with { arena in amqp_queue_purge(state, channel, arena.bytes(name)) }
        try check("purge queue \(name)", channel: channel)
        return ok.map { Int($0.pointee.message_count) } ?? 0
    }

    // MARK: Consuming

    /// Starts a consumer with manual acks; returns the tag the broker assigned.
    func consume(_ queue: String, exclusive: Bool, arguments: [String: AMQPValue], channel: UInt16) throws(AMQPError) -> String {
        let ok = CArena.with { arena in
            amqp_basic_consume(state, channel, arena.bytes(queue), amqp_empty_bytes, 0, 0, exclusive ? 1 : 0,
                               arena.table(arguments))
        }
        try check("consume from queue \(queue)", channel: channel)
        guard let ok else { throw AMQPError(.library, operation: "consume from queue \(queue)", message: "no consume-ok") }
        return CDecode.string(ok.pointee.consumer_tag)
    }

    func cancel(consumerTag: String, channel: UInt16) throws(AMQPError) {
        CArena.with { arena in _ = amqp_basic_cancel(state, channel, arena.bytes(consumerTag)) }
        try check("cancel consumer \(consumerTag)", channel: channel)
    }

    func settle(_ tag: UInt64, _ settlement: Settlement, channel: UInt16) throws(AMQPError) {
        let status: Int32
        switch settlement {
        case .ack: status = amqp_basic_ack(state, channel, tag, 0)
        case .ackThrough: status = amqp_basic_ack(state, channel, tag, 1)
        case .nack(let requeue): status = amqp_basic_nack(state, channel, tag, 0, requeue ? 1 : 0)
        case .reject(let requeue): status = amqp_basic_reject(state, channel, tag, requeue ? 1 : 0)
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionLost, operation: "settle delivery \(tag) on channel \(channel)", message: Self.errorText(status))
        }
    }

    // MARK: Publishing

    func publish(exchange: String, routingKey: String, body: [UInt8], properties: MessageProperties,
                 mandatory: Bool, channel: UInt16) throws(AMQPError) {
        let status = CArena.with { arena in
            var cProperties = Self.cProperties(properties, arena: arena)
            return body.withUnsafeBytes { raw in
                let bytes = amqp_bytes_t(len: raw.count, bytes: raw.count == 0 ? nil : UnsafeMutableRawPointer(mutating: raw.baseAddress))
                return amqp_basic_publish(state, channel, arena.bytes(exchange), arena.bytes(routingKey),
                                          mandatory ? 1 : 0, 0, &cProperties, bytes)
            }
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionLost, operation: "publish to exchange '\(exchange)' with key '\(routingKey)'",
                            message: Self.errorText(status))
        }
    }

    private static func cProperties(_ properties: MessageProperties, arena: CArena) -> amqp_basic_properties_t {
        var result = amqp_basic_properties_t()
        var flags = UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG)
        result.delivery_mode = properties.persistent ? 2 : 1
        func set(_ value: String?, _ flag: Int32, _ field: WritableKeyPath<amqp_basic_properties_t, amqp_bytes_t>) {
            guard let value else { return }
            result[keyPath: field] = arena.bytes(value)
            flags |= UInt32(flag)
        }
        set(properties.contentType, AMQP_BASIC_CONTENT_TYPE_FLAG, \.content_type)
        set(properties.contentEncoding, AMQP_BASIC_CONTENT_ENCODING_FLAG, \.content_encoding)
        set(properties.correlationID, AMQP_BASIC_CORRELATION_ID_FLAG, \.correlation_id)
        set(properties.replyTo, AMQP_BASIC_REPLY_TO_FLAG, \.reply_to)
        set(properties.expiration, AMQP_BASIC_EXPIRATION_FLAG, \.expiration)
        set(properties.messageID, AMQP_BASIC_MESSAGE_ID_FLAG, \.message_id)
        set(properties.type, AMQP_BASIC_TYPE_FLAG, \.type)
        set(properties.appID, AMQP_BASIC_APP_ID_FLAG, \.app_id)
        if !properties.headers.isEmpty {
            result.headers = arena.table(properties.headers)
            flags |= UInt32(AMQP_BASIC_HEADERS_FLAG)
        }
        if let priority = properties.priority {
            result.priority = priority
            flags |= UInt32(AMQP_BASIC_PRIORITY_FLAG)
        }
        if let timestamp = properties.timestamp {
            result.timestamp = timestamp
            flags |= UInt32(AMQP_BASIC_TIMESTAMP_FLAG)
        }
        result._flags = flags
        return result
    }

    /// Copies the properties librabbitmq decoded into a Swift value.
    static func decode(_ properties: amqp_basic_properties_t) -> MessageProperties {
        let flags = properties._flags
        func has(_ flag: Int32) -> Bool { flags & UInt32(flag) != 0 }
        func text(_ flag: Int32, _ bytes: amqp_bytes_t) -> String? { has(flag) ? CDecode.string(bytes) : nil }
        return MessageProperties(
            contentType: text(AMQP_BASIC_CONTENT_TYPE_FLAG, properties.content_type),
            contentEncoding: text(AMQP_BASIC_CONTENT_ENCODING_FLAG, properties.content_encoding),
            headers: has(AMQP_BASIC_HEADERS_FLAG) ? CDecode.table(properties.headers) : [:],
            persistent: has(AMQP_BASIC_DELIVERY_MODE_FLAG) && properties.delivery_mode == 2,
            priority: has(AMQP_BASIC_PRIORITY_FLAG) ? properties.priority : nil,
            correlationID: text(AMQP_BASIC_CORRELATION_ID_FLAG, properties.correlation_id),
            replyTo: text(AMQP_BASIC_REPLY_TO_FLAG, properties.reply_to),
            expiration: text(AMQP_BASIC_EXPIRATION_FLAG, properties.expiration),
            messageID: text(AMQP_BASIC_MESSAGE_ID_FLAG, properties.message_id),
            timestamp: has(AMQP_BASIC_TIMESTAMP_FLAG) ? properties.timestamp : nil,
            type: text(AMQP_BASIC_TYPE_FLAG, properties.type),
            appID: text(AMQP_BASIC_APP_ID_FLAG, properties.app_id))
    }

    // MARK: Frames

    /// A frame read from the connection.
    struct Frame {
        let channel: UInt16
        /// The method id for method frames, nil for header, body and heartbeat frames.
        let method: amqp_method_number_t?
        let decoded: UnsafeMutableRawPointer?
    }

    /// The next frame if one can be had without waiting; also sends a heartbeat when one is due.
    func nextFrame() throws(AMQPError) -> Frame? {
        var frame = amqp_frame_t()
        var immediately = timeval(tv_sec: 0, tv_usec: 0)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &immediately)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionLost, operation: "read from broker", message: Self.errorText(status))
        }
        if frame.frame_type == UInt8(AMQP_FRAME_METHOD) {
            return Frame(channel: frame.channel, method: frame.payload.method.id, decoded: frame.payload.method.decoded)
        }
        return Frame(channel: frame.channel, method: nil, decoded: nil)
    }

    /// Reads the header and body frames that follow a basic.deliver or basic.return.
    func readContent(channel: UInt16) throws(AMQPError) -> (MessageProperties, [UInt8]) {
        var message = amqp_message_t()
        let reply = amqp_read_message(state, channel, &message, 0)
        guard reply.reply_type == AMQP_RESPONSE_NORMAL else {
            throw AMQPError(.connectionLost, operation: "read message on channel \(channel)",
                            message: reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION ? Self.errorText(reply.library_error) : "protocol error")
        }
        defer { amqp_destroy_message(&message) }
        return (Self.decode(message.properties), CDecode.bytes(message.body))
    }

    /// Answers a broker's channel.close so the channel number can be used again.
    func sendChannelCloseOk(_ channel: UInt16) {
        var ok = amqp_channel_close_ok_t()
        _ = amqp_send_method(state, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok)
    }

    /// Answers a broker's connection.close.
    func sendConnectionCloseOk() {
        var ok = amqp_connection_close_ok_t()
        _ = amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok)
    }

    /// Closes the connection politely (connection.close and its -ok), best effort.
    func close() {
        _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
    }

    /// Cuts the TCP connection without an AMQP close, as a network failure would (tests only).
    func shutdownSocket() {
        _ = CRabbitMQ_shutdownSocket(state)
    }

    /// Releases librabbitmq's buffers when no frame still points into them.
    func releaseBuffers() {
        amqp_maybe_release_buffers(state)
    }

    // MARK: Errors

    /// Checks the result of the last synchronous call.
    private func check(_ operation: @autoclosure () -> String, channel: UInt16) throws(AMQPError) {
        try check(amqp_get_rpc_reply(state), operation(), channel: channel)
    }

    /// Turns a librabbitmq reply into nothing (success) or the matching `AMQPError`, answering a
    /// broker-initiated close on the way.
    private func check(_ reply: amqp_rpc_reply_t, _ operation: @autoclosure () -> String, channel: UInt16) throws(AMQPError) {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                sendChannelCloseOk(channel)
                throw AMQPError(.channelClosed, operation: operation(), message: CDecode.string(close.reply_text), replyCode: close.reply_code)
            }
            if reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD {
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                sendConnectionCloseOk()
                throw AMQPError(.connectionClosed, operation: operation(), message: CDecode.string(close.reply_text), replyCode: close.reply_code)
            }
            throw AMQPError(.library, operation: operation(), message: "unexpected server method \(reply.reply.id)")
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            let code: AMQPError.Code = reply.library_error == AMQP_STATUS_TIMEOUT.rawValue ? .timeout : .connectionLost
            throw AMQPError(code, operation: operation(), message: Self.errorText(reply.library_error))
        default:
            throw AMQPError(.library, operation: operation(), message: "no reply from librabbitmq")
        }
    }

    static func errorText(_ status: Int32) -> String {
        guard let text = amqp_error_string2(status) else { return "librabbitmq status \(status)" }
        return String(cString: text)
    }
}

extension timeval {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
