# RabbitMQ 3.10 from Debian 12 (the version Relevo is tested with), with the management plugin.
# Its users come from a definitions file mounted at /etc/rabbitmq/definitions.json
# (scripts/containers prepare writes it from config/rabbitmq/permissions, with fresh passwords).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends rabbitmq-server \
    && rm -rf /var/lib/apt/lists/* \
    && rabbitmq-plugins enable --offline rabbitmq_management > /dev/null
COPY config/rabbitmq/rabbitmq.conf /etc/rabbitmq/conf.d/10-relevo.conf
RUN printf '%s\n' 'load_definitions = /etc/rabbitmq/definitions.json' 'listeners.tcp.default = 5672' \
      'management.tcp.port = 15672' 'log.console = true' 'log.console.level = warning' > /etc/rabbitmq/conf.d/20-container.conf
EXPOSE 5672 15672
CMD ["rabbitmq-server"]
