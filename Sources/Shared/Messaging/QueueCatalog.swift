import Foundation

/// Relevo's AMQP names and the arguments of every queue, defined in this one place (the broker
/// refuses a re-declaration with other arguments, so nothing else may spell them).
///
/// All names start with `relevo.` so that `rabbitmqctl list_queues` reads as a dashboard.
public enum QueueCatalog {
    /// The environment name used for pipelines that are in no environment.
    public static let noEnvironment = "default"
    /// The resource part of a queue name for jobs that need no resource.
    public static let noResources = "any"
    /// Topic exchange on which workers publish events (routing key `event.<type>`).
    public static let eventsExchange = "relevo.events"
    /// The scheduler's queue of worker events.
    public static let schedulerEventsQueue = "relevo.scheduler.events"
    /// Fanout exchange on which the scheduler announces the catalogue of job queues.
    public static let catalogExchange = "relevo.catalog"
    /// Where poison messages go, with the reason in their headers.
    public static let deadLetterQueue = "relevo.dead"
    /// Fanout exchange into `relevo.dead`: how a worker dead-letters a message it cannot read.
    /// Workers may write to it but not to the default exchange, through which they could
    /// otherwise put a job of their own into any job queue (see `scripts/broker`'s users).
    public static let deadLetterExchange = "relevo.dead-letters"
    /// How many times a job may be handed out again (worker crashes, requeues) before it is
    /// dead-lettered instead of crashing workers for ever.
    public static let jobDeliveryLimit = 10

    /// The queue for jobs of `environment` (nil: none) that need `resources`, e.g.
    /// `relevo.jobs.pro.linux+rpm`, `relevo.jobs.default.any`.
    public static func jobQueue(environment: String?, resources: [String]) -> String {
        let normalized = JobQueueKey(environment: environment, resources: resources)
        return normalized.queueName
    }

    /// The single-active-consumer queue for jobs with `serial: key`.
    public static func serialQueue(key: String) -> String {
        "relevo.serial.\(key)"
    }

    /// A job queue's definition: a durable quorum queue whose poison messages go to `relevo.dead`.
    public static func jobQueueDefinition(_ name: String) -> QueueDefinition {
        QueueDefinition(name: name, kind: .quorum, deadLetterExchange: "", deadLetterRoutingKey: deadLetterQueue,
                        deliveryLimit: jobDeliveryLimit)
    }

    /// A serial queue's definition: as a job queue, with one active consumer at a time.
    public static func serialQueueDefinition(_ name: String) -> QueueDefinition {
        QueueDefinition(name: name, kind: .quorum, singleActiveConsumer: true, deadLetterExchange: "",
                        deadLetterRoutingKey: deadLetterQueue, deliveryLimit: jobDeliveryLimit)
    }

    /// Exchanges and queues that exist whatever the pipelines are.
    public static var baseTopology: AMQPTopology {
        AMQPTopology(
            exchanges: workerExchanges,
            queues: [
                QueueDefinition(name: deadLetterQueue, kind: .quorum),
                QueueDefinition(name: schedulerEventsQueue, kind: .quorum, deadLetterExchange: "",
                                deadLetterRoutingKey: deadLetterQueue, deliveryLimit: jobDeliveryLimit),
            ],
            bindings: [BindingDefinition(queue: schedulerEventsQueue, exchange: eventsExchange, routingKey: "event.#"),
                       BindingDefinition(queue: deadLetterQueue, exchange: deadLetterExchange, routingKey: "")])
    }

    /// The exchanges a worker publishes to or binds its catalogue queue to; it declares them (a
    /// worker may start before the scheduler) but none of the scheduler's queues, which its
    /// broker user may not configure.
    public static var workerExchanges: [ExchangeDefinition] {
        [ExchangeDefinition(name: eventsExchange, kind: .topic),
         ExchangeDefinition(name: catalogExchange, kind: .fanout),
         ExchangeDefinition(name: deadLetterExchange, kind: .fanout)]
    }

    /// The topology for a set of job and serial queue names.
    public static func topology(jobQueues: [String], serialQueues: [String]) -> AMQPTopology {
        AMQPTopology(queues: jobQueues.sorted().map(jobQueueDefinition) + serialQueues.sorted().map(serialQueueDefinition))
    }
}

/// What a job needs from an agent: an environment and a set of resources. It names the queue the
/// job goes to, and decides which workers consume that queue.
public struct JobQueueKey: Sendable, Hashable, Codable, Comparable {
    /// The environment, or `default` for pipelines in none.
    public let environment: String
    /// Lowercased, sorted, unique.
    public let resources: [String]

    public init(environment: String?, resources: [String]) {
        let environment = environment?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        self.environment = environment.isEmpty ? QueueCatalog.noEnvironment : environment
        self.resources = JobDefinition.normalizedResources(resources)
    }

    /// `relevo.jobs.<environment>.<resource+resource>` (or `any`).
    public var queueName: String {
        "relevo.jobs.\(environment).\(resources.isEmpty ? QueueCatalog.noResources : resources.joined(separator: "+"))"
    }

    /// GoCD's matching rule: an agent in environments takes only those environments' jobs; an
    /// agent in none takes only jobs in none; and it must have every resource the job needs.
    public func isSatisfied(byEnvironments agentEnvironments: [String], resources agentResources: [String]) -> Bool {
        let environments = Set(agentEnvironments.map { $0.lowercased() })
        let environmentMatches = environments.isEmpty ? environment == QueueCatalog.noEnvironment : environments.contains(environment)
        return environmentMatches && Set(resources).isSubset(of: Set(JobDefinition.normalizedResources(agentResources)))
    }

    public static func < (lhs: JobQueueKey, rhs: JobQueueKey) -> Bool { lhs.queueName < rhs.queueName }
}
