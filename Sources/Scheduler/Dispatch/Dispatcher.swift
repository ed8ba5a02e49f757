import Shared

/// One job dispatch ready to publish: the attempt, the queue it goes to and its whole message.
struct OutgoingJob: Sendable, Equatable {
    var attempt: JobAttempt
    var queue: String
    var message: JobMessage
}

/// Builds the whole message of each job a pipeline run dispatches, in one place: the job's tasks
/// with every `fetch` resolved to the exact job run it takes artifacts from (through the run's
/// dependency pins), the variables merged with GoCD's precedence plus the dependency materials'
/// `GO_DEPENDENCY_*`, the git materials at the pinned revisions, and the queue (the job's serial
/// queue, or the one keyed by environment and resources). Nothing is patched afterwards.
struct Dispatcher: Sendable {
    let builder: JobMessageBuilder
    /// Where upstream runs are read (dependency pins, fetch paths).
    let runs: any PipelineRunLookup
    /// Decrypts encrypted values and looks up secret references, for ``secrets(of:run:config:)``.
    var secrets = SecretResolver()

    /// What became of one attempt.
    enum Plan: Sendable, Equatable {
        /// Publish it.
        case publish(OutgoingJob)
        /// The config no longer has its stage or job: it cannot run (the caller fails it).
        case missingFromConfig(JobAttempt)
    }

    /// The queue job run `id` of `run` is published to, or nil if the config no longer has it.
    func queue(of id: JobRunID, run: PipelineRun, config: ConfigSnapshot) -> String? {
        guard let definition = config.pipeline(named: run.pipelineName), let job = definition.stage(named: id.stage)?.job(named: id.job)
        else { return nil }
        if let serial = job.serial { return QueueCatalog.serialQueue(key: serial) }
        return JobQueueKey(environment: definition.environment, resources: job.resources).queueName
    }

    /// A plan for each of `attempts` (jobs of `run`), in order. The messages carry no secret
    /// (see ``secrets(of:run:config:)``).
    func plan(_ attempts: [JobAttempt], run: PipelineRun, config: ConfigSnapshot) async -> [Plan] {
        guard let definition = config.pipeline(named: run.pipelineName) else { return attempts.map { .missingFromConfig($0) } }
        let dependencyVariables = await dependencyVariables(of: run, definition: definition)
        let previous = await previousRevisions(of: run)
        var plans: [Plan] = []
        for attempt in attempts {
            guard let (message, job) = await message(for: attempt, run: run, definition: definition, config: config,
                                                      dependencyVariables: dependencyVariables, previousRevisions: previous) else {
                plans.append(.missingFromConfig(attempt))
                continue
            }
            plans.append(.publish(OutgoingJob(attempt: attempt, queue: message.queueName(serialKey: job.serial),
                                              message: message.withoutSecrets())))
        }
        return plans
    }

    /// What `attempt`'s published message leaves out (secure values, artifact token, material
    /// credentials), built exactly as the message was (from the config as it is now); nil if the
    /// config no longer has the job.
    /// Encrypted values are decrypted and secret references looked up here; one that cannot be
    /// throws, with the reason.
    func secrets(of attempt: JobAttempt, run: PipelineRun, config: ConfigSnapshot) async throws(SecretResolver.Failure) -> JobSecretsReply? {
        guard var reply = await fullMessage(of: attempt, run: run, config: config)?.secrets else { return nil }
        for (index, variable) in reply.environmentVariables.enumerated() where SecretResolver.needsResolving(variable.value) {
            reply.environmentVariables[index].value = try secrets.resolve(variable.value, name: variable.name)
        }
        return reply
    }

    /// `attempt`'s whole message, secrets included, as it is built now.
    func fullMessage(of attempt: JobAttempt, run: PipelineRun, config: ConfigSnapshot) async -> JobMessage? {
        guard let definition = config.pipeline(named: run.pipelineName) else { return nil }
        let dependencyVariables = await dependencyVariables(of: run, definition: definition)
        return await message(for: attempt, run: run, definition: definition, config: config, dependencyVariables: dependencyVariables,
                             previousRevisions: await previousRevisions(of: run))?.message
    }

    /// The revisions the pipeline's previous instance was built from (GoCD's
    /// `GO_MATERIAL_*_HAS_CHANGED` and `GO_FROM_REVISION_*`); empty for the first instance.
    func previousRevisions(of run: PipelineRun) async -> [String: String] {
        guard run.counter > 1, let previous = try? await runs.pipelineRun(run.pipelineName, counter: run.counter - 1) else { return [:] }
        return previous.materialRevisions
    }

    private func message(for attempt: JobAttempt, run: PipelineRun, definition: PipelineDefinition, config: ConfigSnapshot,
                         dependencyVariables: [EnvironmentVariable], previousRevisions: [String: String]) async -> (message: JobMessage, job: JobDefinition)? {
        let id = attempt.jobRunID
        guard let stage = definition.stage(named: id.stage), let job = stage.job(named: id.job) else { return nil }
        let environment = definition.environment.flatMap { config.environment(named: $0) }
        let tasks = await FetchResolver(runs: runs).resolve(job.tasks, run: run, stage: id.stage)
        let message = builder.message(for: attempt, run: run, pipeline: definition, stage: stage, job: job, environment: environment,
                                      tasks: tasks, dependencyVariables: dependencyVariables, previousRevisions: previousRevisions)
        return (message, job)
    }

    /// `GO_DEPENDENCY_LABEL_<MATERIAL>` and `GO_DEPENDENCY_LOCATOR_<MATERIAL>` for each
    /// dependency material of `run` (the label is the upstream run's; its counter if that run
    /// cannot be read).
    func dependencyVariables(of run: PipelineRun, definition: PipelineDefinition) async -> [EnvironmentVariable] {
        var variables: [EnvironmentVariable] = []
        for material in definition.dependencyMaterials {
            guard let revision = run.materialRevisions[material.name], let pin = DependencyPin(revision: revision) else { continue }
            let suffix = String(material.name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
            let upstream: PipelineRun?
            do { upstream = try await runs.pipelineRun(pin.pipeline, counter: pin.counter) } catch { upstream = nil }
            variables.append(EnvironmentVariable(name: "GO_DEPENDENCY_LABEL_\(suffix)", value: upstream?.label ?? String(pin.counter)))
            variables.append(EnvironmentVariable(name: "GO_DEPENDENCY_LOCATOR_\(suffix)", value: revision))
        }
        return variables
    }
}
