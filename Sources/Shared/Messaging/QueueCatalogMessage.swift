/// The job queues that exist for the current config, announced by the scheduler on the catalogue
/// exchange whenever the config changes (and again when a worker's heartbeat shows an older
/// version), so that workers follow new queues without a restart.
public struct QueueCatalogMessage: Sendable, Equatable, Codable {
    /// One queue and what an agent needs to take its jobs.
    public struct Entry: Sendable, Hashable, Codable {
        public var queue: String
        public var requirement: JobQueueKey
        /// A `relevo.serial.*` queue (single active consumer) rather than an ordinary job queue.
        public var serial: Bool

        public init(queue: String, requirement: JobQueueKey, serial: Bool) {
            self.queue = queue
            self.requirement = requirement
            self.serial = serial
        }

        /// The queue's definition, from the one place that defines queue arguments.
        public var definition: QueueDefinition {
            serial ? QueueCatalog.serialQueueDefinition(queue) : QueueCatalog.jobQueueDefinition(queue)
        }
    }

    /// Grows with every change; 0 means "none received yet".
    public var version: Int
    public var entries: [Entry]

    public init(version: Int, entries: [Entry]) {
        self.version = version
        self.entries = entries.sorted { $0.queue < $1.queue }
    }

    /// The entries whose jobs an agent with these environments and resources may run.
    public func entries(forEnvironments environments: [String], resources: [String]) -> [Entry] {
        entries.filter { $0.requirement.isSatisfied(byEnvironments: environments, resources: resources) }
    }
}
