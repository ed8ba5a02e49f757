import Shared

/// Derives the job queues that the current config needs, and what an agent must have to take
/// each: one queue per (environment, resources) pair, one serial queue per `serial` key.
enum CatalogBuilder {
    static func entries(for pipelines: [PipelineDefinition]) -> [QueueCatalogMessage.Entry] {
        var entries: [String: QueueCatalogMessage.Entry] = [:]
        for pipeline in pipelines {
            for stage in pipeline.stages {
                for job in stage.jobs {
                    let requirement = JobQueueKey(environment: pipeline.environment, resources: job.resources)
                    if let serial = job.serial {
                        let queue = QueueCatalog.serialQueue(key: serial)
                        // The first job that names a key decides who may run it.
                        if entries[queue] == nil { entries[queue] = .init(queue: queue, requirement: requirement, serial: true) }
                    } else {
                        entries[requirement.queueName] = .init(queue: requirement.queueName, requirement: requirement, serial: false)
                    }
                }
            }
        }
        return entries.values.sorted { $0.queue < $1.queue }
    }
}
