import Foundation
import Logging
import Shared

/// The one owner of the scheduler's mutable state: the config in force, the queue catalogue, and
/// the jobs whose dispatch must be retried. It turns requests (trigger, approve) and worker
/// events into store transitions, and performs the actions the state machine returns.
actor SchedulerEngine {
    private(set) var config: ConfigSnapshot
    /// The database; the HTTP layer reads through ``queries`` instead.
    let store: SchedulerStore
    /// What the HTTP API, the dashboard and the metrics read (never write).
    nonisolated var queries: any SchedulerQueries { store }
    let publisher: any MessagePublisher
    let gitClient: GitClient
    let dispatcher: Dispatcher
    /// Heartbeats, agent edits, lost agents.
    let agents: AgentRegistry
    let logger: Logger
    private(set) var catalogVersion = 0
    private var catalogEntries: [QueueCatalogMessage.Entry] = []
    /// Dispatches being published now: the reconcile pass, which re-reads from the database the
    /// jobs whose dispatch was never confirmed, leaves these alone.
    var publishing: Set<JobAttempt> = []
    /// Upstream triggers that found their pipeline locked; the reconcile pass retries them.
    var deferredTriggers: [DeferredTrigger] = []
    /// Scheduled → first task started, for `/metrics`.
    var dispatchLatency = LatencyHistogram()
    /// Commits shown on the dashboard, by `url@revision`.
    private var commitCache: [String: CommitInfo] = [:]
    /// The broker's management API, when configured (queue details for the queues page).
    private let management: BrokerManagement?
    /// Wakes console streams when a job's output or result is stored.
    nonisolated let consoleSignal = ConsoleSignal()
    /// Since when worker events have been applied without trouble (see ``noteEventIntakeTrouble()``).
    var eventIntakeClearSince = Date()
    /// The jobs each agent said it was running in its latest heartbeat, and when (memory only:
    /// after a restart it fills again within a heartbeat). See ``redeliveryVerdict(_:)``.
    var busyReports: [String: (jobs: Set<JobRunID>, at: Date)] = [:]
    /// The reconcile pass's `agent_lost_seconds`: how old a heartbeat may be and still count.
    var agentLostAfter: TimeInterval = 6
    /// Attempts whose message came back from the broker while their agent may still run them
    /// (see ``redeliveryVerdict(_:)``): each waits for a heartbeat, newer than the report, that
    /// names the job (then it goes on there), else it is abandoned (see ``settleRedeliveries()``).
    /// The holder is nil while its acceptance has not arrived.
    var pendingRedeliveries: [JobAttempt: (holder: String?, reportedAt: Date, reporter: String)] = [:]
    /// How long such an attempt waits for its agent's word: a worker sends a heartbeat as soon as
    /// its broker connection is back; a crashed one never does. Long enough for a failover of the
    /// broker's cluster (a new leader for the events queue, the worker's reconnection: 2–5 s
    /// measured), since a job abandoned while its agent still runs it runs twice. A heartbeat
    /// that no longer names the job ends the wait at once.
    var redeliveryGrace: TimeInterval = 8

    /// Each timer pipeline's next firing (by lower-cased name), and the schedule it was computed
    /// for: a changed schedule starts counting again from the moment it was loaded.
    var timers: [String: (schedule: CronSchedule, next: Date?)] = [:]
    /// Whether a range of commits of a filtered material triggers its pipeline, by
    /// `pipeline|material|from..to`, so that polls do not diff it again.
    var filteredChanges: [String: Bool] = [:]

    func setRedeliveryGrace(_ seconds: TimeInterval) { redeliveryGrace = seconds }

    init(config: ConfigSnapshot, store: SchedulerStore, publisher: any MessagePublisher, git: GitClient, serverURL: String,
         artifactToken: @escaping @Sendable (ArtifactLocator, Int) -> String, management: BrokerManagement? = nil,
         registrationKey: String? = nil, secrets: SecretResolver = SecretResolver(), logger: Logger) {
        self.management = management
        self.config = config
        self.store = store
        self.publisher = publisher
        self.gitClient = git
        self.agents = AgentRegistry(store: store, publisher: publisher, logger: logger, registrationKey: registrationKey)
        self.dispatcher = Dispatcher(builder: JobMessageBuilder(serverURL: serverURL, token: artifactToken), runs: store, secrets: secrets)
        self.logger = logger
    }

    /// Why a request cannot be done; the HTTP layer chooses the status from the code.
    struct RequestError: Error, CustomStringConvertible {
        enum Code { case notFound, conflict, unavailable, forbidden, badRequest }
        let code: Code
        let description: String
    }

    // MARK: Config and catalogue

    /// Takes a newly loaded config (only its valid pipelines; errors were reported by the caller)
    /// and announces the job queues it needs.
    func apply(config snapshot: ConfigSnapshot) async {
        config = snapshot
        let entries = CatalogBuilder.entries(for: snapshot.pipelines)
        if entries != catalogEntries || catalogVersion == 0 {
            catalogEntries = entries
            // Milliseconds since the epoch: grows across scheduler restarts too, so workers that
            // followed an older scheduler's catalogue accept the new one.
            catalogVersion = max(catalogVersion + 1, Int(Date().timeIntervalSince1970 * 1000))
        }
        await publishCatalog()
        await agents.apply(environments: snapshot.environments)
        await catchUpDownstream()
    }

    /// Declares every job queue (so a job published before any worker exists is kept) and
    /// announces the catalogue to workers.
    func publishCatalog() async {
        do {
            try await publisher.declare(AMQPTopology(queues: catalogEntries.map(\.definition)))
            let message = QueueCatalogMessage(version: catalogVersion, entries: catalogEntries)
            try await publisher.publish(MessageCodec.encode(message), exchange: QueueCatalog.catalogExchange, routingKey: "",
                                        properties: MessageProperties(contentType: "application/json", persistent: false),
                                        mandatory: false)
            logger.debug("queue catalogue published", metadata: ["version": "\(catalogVersion)", "queues": "\(catalogEntries.count)"])
        } catch {
            logger.warning("queue catalogue not published; will retry", metadata: ["error": "\(error)"])
        }
    }

    /// Depth and consumers of every `relevo.*` queue this scheduler knows (for `/metrics` and the
    /// dashboard), asked of the broker; a queue it cannot ask about is left out.
    func queueStatuses() async -> [QueueReport] {
        let names = [QueueCatalog.schedulerEventsQueue, QueueCatalog.deadLetterQueue] + catalogEntries.map(\.queue)
        let serial = Set(catalogEntries.filter(\.serial).map(\.queue))
        if let management {
            do {
                let reports = try await management.queues()
                return names.compactMap { reports[$0] }
            } catch {
                logger.warning("broker management API unavailable; queue depths from AMQP only", metadata: ["error": "\(error)"])
            }
        }
        var statuses: [QueueReport] = []
        for name in names {
            do {
                let status = try await publisher.queueStatus(name)
                statuses.append(QueueReport(name: name, ready: status.messages, unacknowledged: nil, consumers: status.consumers,
                                            singleActiveConsumer: serial.contains(name), activeConsumer: nil))
            } catch {
                logger.debug("queue status unavailable", metadata: ["queue": "\(name)", "error": "\(error)"])
            }
        }
        return statuses
    }

    /// Author and message of a material's commit, from the scheduler's mirror of the repository
    /// (fetched on first need, then kept); nil if git cannot tell.
    func commitInfo(url: String, revision: String) async -> CommitInfo? {
        let key = "\(url)@\(revision)"
        if let cached = commitCache[key] { return cached }
        do {
            let mirror = try await gitClient.updateMirror(url: url)
            let info = try await gitClient.commitInfo(repository: mirror, revision: revision)
            if commitCache.count > 2000 { commitCache.removeAll() }
            commitCache[key] = info
            return info
        } catch {
            logger.debug("commit not described", metadata: ["url": "\(GitURL.redacted(url))", "revision": "\(revision)", "error": "\(error)"])
            return nil
        }
    }

    // MARK: Requests

    /// Starts a new instance of `name`, pinned to `revisions` (material name → commit) or, for
    /// materials not given, to the branch's newest commit.
    ///
    /// `variables` override the pipeline's variables of the same name (GoCD's trigger with
    /// options): each must name a variable of the pipeline or of its environment, and one that is
    /// secure there stays secure.
    func trigger(_ name: String, cause: TriggerCause, revisions given: [String: String] = [:],
                 variables: [EnvironmentVariable] = [], updateMaterials: Bool = true) async throws -> PipelineRun {
        guard let definition = config.pipeline(named: name) else {
            throw RequestError(code: .notFound, description: "no pipeline named '\(name)'")
        }
        let declared = definition.environmentVariables
            + (definition.environment.flatMap { config.environment(named: $0) }?.environmentVariables ?? [])
        var overrides: [EnvironmentVariable] = []
        for variable in variables {
            guard let known = declared.first(where: { $0.name == variable.name }) else {
                let names = Set(declared.map(\.name)).sorted()
                throw RequestError(code: .badRequest, description: "variable '\(variable.name)' is not declared by pipeline '\(name)' or its environment, "
                                   + "so it cannot be given at trigger time (declared: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
            }
            overrides.removeAll { $0.name == variable.name }
            overrides.append(EnvironmentVariable(name: variable.name, value: variable.value, secure: variable.secure || known.secure))
        }
        if let pause = try await store.pauses()[name.lowercased()] {
            throw RequestError(code: .conflict, description: "pipeline '\(name)' is paused by \(pause.pausedBy)\(pause.reason.isEmpty ? "" : ": \(pause.reason)")")
        }
        if let holder = try await lockHolder(of: definition) {
            throw RequestError(code: .conflict, description: "pipeline '\(name)' is locked: \(holder)")
        }
        var revisions = try await pinDependencies(of: definition, given: given)
        // GoCD's update_materials_before_scheduling: false takes the revisions last seen.
        let lastSeen = updateMaterials ? [:] : (try await store.history(of: definition.name, limit: 1).runs.first?.materialRevisions ?? [:])
        for material in definition.gitMaterials where revisions[material.name] == nil {
            if let known = lastSeen[material.name] {
                revisions[material.name] = known
                continue
            }
            do {
                revisions[material.name] = try await gitClient.latestRevision(url: material.url, branch: material.branch)
            } catch {
                throw RequestError(code: .unavailable, description: "cannot read material '\(material.name)' of '\(name)': \(error)")
            }
        }
        let label = try await labelInputs(of: definition, revisions: revisions, overrides: overrides)
        let (run, actions) = try await store.createRun(of: definition, cause: cause, materialRevisions: revisions,
                                                       triggerVariables: overrides, label: label, at: Date())
        logger.info("pipeline scheduled", metadata: ["pipeline": "\(name)", "counter": "\(run.counter)", "cause": "\(cause)"])
        // The run is committed: the caller has its answer now, and the jobs are published right
        // after (a publish that fails, or a scheduler that stops first, leaves the jobs without a
        // dispatch mark, and the reconcile pass or the next start publishes them).
        Task { await self.perform(actions, run: run) }
        return run
    }

    /// What `definition`'s label template reads: each dependency material's upstream label (GoCD's
    /// `${upstream}` is the upstream run's label, not its locator) and the variables of the
    /// environment, the pipeline and the trigger, secure ones left out.
    private func labelInputs(of definition: PipelineDefinition, revisions: [String: String],
                             overrides: [EnvironmentVariable]) async throws -> PipelineRun.LabelInputs {
        var inputs = PipelineRun.LabelInputs()
        for material in definition.dependencyMaterials {
            guard let revision = revisions[material.name], let pin = DependencyPin(revision: revision),
                  let upstream = try await store.pipelineRun(pin.pipeline, counter: pin.counter) else { continue }
            inputs.revisions[material.name] = upstream.label
        }
        let environment = definition.environment.flatMap { config.environment(named: $0) }?.environmentVariables ?? []
        for variable in environment + definition.environmentVariables + overrides {
            if variable.secure { inputs.variables[variable.name] = nil } else { inputs.variables[variable.name] = variable.value }
        }
        return inputs
    }

    /// The "play" button: runs a stage that waits for approval.
    func approve(_ pipeline: String, counter: Int, stage: String, user: APIUser) async throws {
        guard try await store.pipelineRun(pipeline, counter: counter) != nil else {
            throw RequestError(code: .notFound, description: "no instance \(pipeline)/\(counter)")
        }
        try checkApprover(user, pipeline: pipeline, stage: stage)
        let actions = try await applyRequest(.approve(stage: stage, user: user.name), pipeline: pipeline, counter: counter)
        await perform(actions, pipeline: pipeline, counter: counter)
    }

    /// Runs an ended stage again as a new stage run (GoCD's re-run, run failed jobs, run selected
    /// jobs); returns the new stage counter. `stageCounter` must name the stage's current run.
    func rerun(_ pipeline: String, counter: Int, stage: String, stageCounter: Int, jobs: RerunSelection,
               user: APIUser) async throws -> Int {
        guard let definition = config.pipeline(named: pipeline) else {
            throw RequestError(code: .notFound, description: "no pipeline named '\(pipeline)'")
        }
        guard definition.stage(named: stage) != nil else {
            throw RequestError(code: .conflict, description: "stage '\(stage)' is no longer in the config of '\(pipeline)'; it cannot run again")
        }
        guard let run = try await store.pipelineRun(pipeline, counter: counter) else {
            throw RequestError(code: .notFound, description: "no instance \(pipeline)/\(counter)")
        }
        guard let current = run.stages.first(where: { $0.name == stage }),
              run.stageRun(named: stage, counter: stageCounter) != nil else {
            throw RequestError(code: .notFound, description: "no stage run \(stage)/\(stageCounter) in \(pipeline)/\(counter)")
        }
        guard current.counter == stageCounter else {
            throw RequestError(code: .conflict, description:
                "\(pipeline)/\(counter)/\(stage)/\(stageCounter) was already run again as \(stage)/\(current.counter); re-run that one")
        }
        // A locked pipeline runs one instance at a time: no re-run of an older one meanwhile.
        if definition.lockBehavior != .none, let latest = try await store.history(of: pipeline, limit: 1).runs.first,
           latest.counter != counter, latest.state == .building || latest.state == .pending {
            throw RequestError(code: .conflict, description:
                "pipeline '\(pipeline)' is locked: instance \(latest.counter) is running (lock_behavior \(definition.lockBehavior.rawValue))")
        }
        try checkApprover(user, pipeline: pipeline, stage: stage)
        let actions = try await applyRequest(.rerun(stage: stage, jobs: jobs, user: user.name), pipeline: pipeline, counter: counter)
        logger.info("stage re-run", metadata: ["pipeline": "\(pipeline)/\(counter)", "stage": "\(stage)/\(stageCounter + 1)",
                                               "jobs": "\(jobs)", "by": "\(user.name)"])
        await perform(actions, pipeline: pipeline, counter: counter)
        return stageCounter + 1
    }

    /// GoCD's approval.users / approval.roles: when given, only they (and admins) may run the stage.
    private func checkApprover(_ user: APIUser, pipeline: String, stage: String) throws {
        if let approval = config.pipeline(named: pipeline)?.stage(named: stage)?.approval,
           !approval.users.isEmpty || !approval.roles.isEmpty, user.role != .admin,
           !approval.users.contains(user.name), Set(approval.roles).isDisjoint(with: user.groups) {
            throw RequestError(code: .forbidden, description:
                "'\(user.name)' may not run \(pipeline)/\(stage): allowed users \(approval.users), roles \(approval.roles)")
        }
    }

    /// Applies a person's request to the run; a refusal of the state machine becomes 404 (no
    /// such stage or job) or 409 (not in this state).
    private func applyRequest(_ event: PipelineEvent, pipeline: String, counter: Int) async throws -> [PipelineAction] {
        let result: Result<[PipelineAction], StoreError>
        do {
            result = .success(try await store.apply(event, pipeline: pipeline, counter: counter, at: Date()))
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let actions):
            return actions
        case .failure(let error):
            guard let refusal = error.scheduling else { throw error }
            let missing = refusal.code == .unknownStage || refusal.code == .unknownJob
            throw RequestError(code: missing ? .notFound : .conflict, description: refusal.message)
        }
    }

    /// Cancels a running instance (GoCD's stage cancel: the building stage's jobs are stopped
    /// on their workers, later stages do not run).
    func cancel(_ pipeline: String, counter: Int, stage: String, user: String) async throws {
        guard let run = try await store.pipelineRun(pipeline, counter: counter) else {
            throw RequestError(code: .notFound, description: "no instance \(pipeline)/\(counter)")
        }
        guard run.stages.contains(where: { $0.name == stage }) else {
            throw RequestError(code: .notFound, description: "no stage '\(stage)' in \(pipeline)/\(counter)")
        }
        let result: Result<[PipelineAction], StoreError>
        do {
            result = .success(try await store.apply(.cancel(user: user), pipeline: pipeline, counter: counter, at: Date()))
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let actions):
            logger.info("instance cancelled", metadata: ["pipeline": "\(pipeline)/\(counter)", "by": "\(user)"])
            await perform(actions, pipeline: pipeline, counter: counter)
        case .failure(let error):
            guard let refusal = error.scheduling else { throw error }
            throw RequestError(code: .conflict, description: refusal.message)
        }
    }

    /// Tells every worker to stop `jobRunID` (the one running it does): only `attempt` of it, and
    /// only on `agent`, when given.
    func sendCancel(_ jobRunID: JobRunID, user: String, attempt: Int? = nil, agent: String? = nil) async {
        do {
            try await publisher.publish(MessageCodec.encode(JobCancel(jobRunID: jobRunID, user: user, attempt: attempt, agent: agent)),
                                        exchange: QueueCatalog.catalogExchange,
                                        routingKey: "", properties: MessageProperties(contentType: "application/json", type: JobCancel.messageType))
        } catch {
            logger.warning("cancel not sent", metadata: ["job": "\(jobRunID)", "error": "\(error)"])
        }
    }

    // MARK: Actions

    private func perform(_ actions: [PipelineAction], pipeline: String, counter: Int) async {
        guard !actions.isEmpty else { return }
        do {
            guard let run = try await store.pipelineRun(pipeline, counter: counter) else { return }
            await perform(actions, run: run)
        } catch {
            logger.error("cannot load \(pipeline)/\(counter) to perform actions", metadata: ["error": "\(error)"])
        }
    }

    func perform(_ actions: [PipelineAction], run: PipelineRun) async {
        var toDispatch: [JobAttempt] = []
        var passedStages: [String] = []
        for action in actions {
            switch action {
            case .dispatch(let attempt):
                toDispatch.append(attempt)
            case .cancelJob(let id):
                logger.info("job cancelled", metadata: ["job": "\(id)"])
                await sendCancel(id, user: "scheduler")
            case .stageCompleted(let stage, let result):
                logger.info("stage completed", metadata: ["pipeline": "\(run.pipelineName)/\(run.counter)", "stage": "\(stage)", "result": "\(result)"])
                if result == .passed { passedStages.append(stage) }
            case .pipelineCompleted(let result):
                logger.info("pipeline completed", metadata: ["pipeline": "\(run.pipelineName)/\(run.counter)", "result": "\(result)"])
            case .awaitingApproval(let stage):
                logger.info("stage awaits approval", metadata: ["pipeline": "\(run.pipelineName)/\(run.counter)", "stage": "\(stage)"])
            }
        }
        if !toDispatch.isEmpty { await dispatch(toDispatch, run: run) }
        for stage in passedStages { await triggerDownstream(of: run, stage: stage) }
    }
}
