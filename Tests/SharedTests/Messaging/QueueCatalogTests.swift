import Shared
import Testing

@Suite struct QueueCatalogTests {
    @Test(arguments: [
        (nil as String?, [] as [String], "relevo.jobs.default.any"),
        ("pro", ["RPM", "linux", "rpm", " linux "], "relevo.jobs.pro.linux+rpm"),
        ("", ["windows"], "relevo.jobs.default.windows"),
        ("Dev", [], "relevo.jobs.dev.any"),
    ])
    func jobQueuesAreKeyedByEnvironmentAndSortedResources(_ environment: String?, _ resources: [String], _ expected: String) {
        #expect(QueueCatalog.jobQueue(environment: environment, resources: resources) == expected)
    }

    @Test(arguments: [
        // job environment, job resources, agent environments, agent resources, matches
        (nil as String?, [] as [String], [] as [String], ["linux"], true),
        (nil, ["windows"], [], ["linux"], false),
        (nil, ["windows"], [], ["windows", "x64"], true),
        ("pro", [], [], ["linux"], false),          // an agent in no environment never takes pro's jobs
        (nil, [], ["pro"], ["linux"], false),       // an agent in pro never takes jobs in no environment
        ("pro", ["linux"], ["dev", "pro"], ["Linux"], true),
        ("int", [], ["dev", "pro"], [], false),
    ])
    func matchingFollowsGoCDsRules(_ environment: String?, _ resources: [String], _ agentEnvironments: [String],
                                   _ agentResources: [String], _ matches: Bool) {
        let key = JobQueueKey(environment: environment, resources: resources)
        #expect(key.isSatisfied(byEnvironments: agentEnvironments, resources: agentResources) == matches)
    }

    @Test func serialQueuesHaveOneActiveConsumerAndADeadLetterRoute() {
        let name = QueueCatalog.serialQueue(key: "createrepo-dev")
        #expect(name == "relevo.serial.createrepo-dev")
        let definition = QueueCatalog.serialQueueDefinition(name)
        #expect(definition.kind == .quorum)
        #expect(definition.arguments["x-single-active-consumer"] == .bool(true))
        #expect(definition.arguments["x-dead-letter-routing-key"] == .string(QueueCatalog.deadLetterQueue))
        #expect(definition.arguments["x-delivery-limit"] == .int(Int64(QueueCatalog.jobDeliveryLimit)))
        #expect(QueueCatalog.jobQueueDefinition("relevo.jobs.default.any").arguments["x-single-active-consumer"] == nil)
    }

    @Test func baseTopologyRoutesEveryEventToTheSchedulerAndWorkerDeadLettersToTheDeadLetterQueue() {
        let topology = QueueCatalog.baseTopology
        #expect(topology.queues.map(\.name).sorted() == [QueueCatalog.deadLetterQueue, QueueCatalog.schedulerEventsQueue])
        #expect(topology.bindings == [BindingDefinition(queue: QueueCatalog.schedulerEventsQueue, exchange: QueueCatalog.eventsExchange, routingKey: "event.#"),
                                      BindingDefinition(queue: QueueCatalog.deadLetterQueue, exchange: QueueCatalog.deadLetterExchange, routingKey: "")])
        // A worker declares only exchanges: its broker user may not configure the scheduler's queues.
        #expect(QueueCatalog.workerExchanges.map(\.name).sorted() == [QueueCatalog.catalogExchange, QueueCatalog.deadLetterExchange, QueueCatalog.eventsExchange])
        #expect(WorkerEvent.finished(JobAttempt(jobRunID: JobRunID(pipeline: "p", pipelineCounter: 1, stage: "s", job: "j"), attempt: 1), result: .passed).routingKey == "event.finished")
    }
}
