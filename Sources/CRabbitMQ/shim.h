#ifndef CRABBITMQ_SHIM_H
#define CRABBITMQ_SHIM_H

/* librabbitmq 0.11 (Debian 12) ships flat headers. */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#include <sys/socket.h>
#include <sys/eventfd.h>

/* amqp_login_with_properties is C-variadic, which Swift cannot call: this fixes the
   SASL PLAIN arguments so Swift sees an ordinary function. Not public API of Relevo. */
static inline amqp_rpc_reply_t CRabbitMQ_loginPlain(amqp_connection_state_t state,
                                                    const char *vhost, int channel_max,
                                                    int frame_max, int heartbeat,
                                                    const amqp_table_t *properties,
                                                    const char *user, const char *password) {
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat,
                                      properties, AMQP_SASL_METHOD_PLAIN, user, password);
}

/* Test hook: cut the TCP connection under librabbitmq without an AMQP close, as a network
   failure would. */
static inline int CRabbitMQ_shutdownSocket(amqp_connection_state_t state) {
    int fd = amqp_get_sockfd(state);
    if (fd < 0) { return -1; }
    return shutdown(fd, SHUT_RDWR);
}

/* A non-blocking eventfd that wakes a connection thread blocked in poll(). */
static inline int CRabbitMQ_wakeDescriptor(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

#endif
