import Foundation
import Logging
import Shared

/// One job's life on this worker, as a straight script with a guaranteed finish: accepted →
/// work directory → git materials at the pinned revisions → tasks → finished. Whatever happens,
/// the `finished` event is published (and confirmed) before the job message is acked.
struct JobRunner: Sendable {
    let workDirectory: String
    let serverURL: String
    /// The CA that signed an https scheduler's certificate, if not a system-trusted one.
    let serverCAFile: String?
    let logger: Logger
    /// `<work directory>/pipelines`, absolute: each job's directory is in it.
    let pipelinesDirectory: String
    /// Jobs of one pipeline running at once on this agent each get a directory of their own.
    let workspaces = WorkspaceLeases()

    init(workDirectory: String, serverURL: String, serverCAFile: String? = nil, logger: Logger) {
        self.workDirectory = workDirectory
        self.serverURL = serverURL
        self.serverCAFile = serverCAFile
        self.logger = logger
        pipelinesDirectory = URL(fileURLWithPath: workDirectory).appendingPathComponent("pipelines").path
    }

    /// The variables every task sees from the worker itself; everything else is the job's.
    static let inheritedVariables = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "SHELL", "TZ"]

    /// Those variables' values, read once (the worker's environment does not change while it runs).
    static let inheritedEnvironment = ProcessInfo.processInfo.environment.filter { inheritedVariables.contains($0.key) }

    /// Runs the job; returns whether its result was confirmed by the broker (if not, the caller
    /// hands the job back so that it runs again rather than vanishing).
    /// `supervised`: run the tasks under `relevo-task-supervisor` so that they die with this
    /// worker. Done for `serial` jobs, whose whole point is that two runs never overlap; it costs
    /// a couple of milliseconds per task (one more process, which loads the Swift runtime), so
    /// ordinary jobs run their tasks directly.
    /// `running`: where the job's task sequence is registered for cancels from the scheduler.
    func execute(_ job: JobMessage, attempt: JobAttempt, agent: AgentIdentity, events: EventPublisher, running: RunningJobs,
                 supervised: Bool = false) async -> Bool {
        // With no material to fetch the first task starts right away: one `started` event says
        // both "taken" and "running" (a job costs one message less). Otherwise `accepted` now and
        // `taskStarted` once the materials are in place.
        let startsAtOnce = !job.fetchMaterials || job.materials.isEmpty
        do {
            try await events.publish(startsAtOnce ? .started(attempt, agent: agent) : .accepted(attempt, agent: agent))
        } catch {
            logger.error("cannot report taking the job; handing it back", metadata: ["job": "\(job.jobRunID)", "error": "\(error)"])
            return false
        }
        let console = ConsoleStreamer(attempt: attempt, publisher: events)
        var result = JobResult.failed
        let workspace = await workspaces.lease(job.jobRunID.pipeline)
        do {
            result = try await prepareAndRun(job, workspace: workspace, attempt: attempt, agent: agent, console: console, events: events,
                                             running: running, supervised: supervised, announceStart: !startsAtOnce)
        } catch {
            // Something of ours broke (not the job's tasks): say so in the console, fail the job.
            await console.write("[relevo] \(error)\n")
            logger.error("job could not run", metadata: ["job": "\(job.jobRunID)", "error": "\(error)"])
        }
        await workspaces.release(workspace)
        if await running.isAbandoned(job.jobRunID) {
            await console.write("[relevo] Job stopped on \(agent.name): its delivery was lost; it runs again elsewhere\n")
            _ = await console.finishKeepingTail()
            logger.warning("job stopped without a result; it runs again elsewhere", metadata: ["job": "\(attempt)"])
            return false
        }
        await console.write("[relevo] Job completed \(job.jobRunID) on \(agent.name): \(result.rawValue)\n")
        let tail = await console.finishKeepingTail()
        do {
            try await events.publish(.finished(attempt, result: result, console: tail, agent: agent.uuid))
        } catch {
            logger.error("job result not published; the job will run again", metadata: ["job": "\(job.jobRunID)", "error": "\(error)"])
            return false
        }
        logger.info("job finished", metadata: ["job": "\(job.jobRunID)", "attempt": "\(attempt.attempt)", "result": "\(result.rawValue)"])
        return true
    }

    private func prepareAndRun(_ job: JobMessage, workspace: String, attempt: JobAttempt, agent: AgentIdentity,
                               console: ConsoleStreamer, events: EventPublisher, running: RunningJobs, supervised: Bool,
                               announceStart: Bool) async throws -> JobResult {
        await console.write("[relevo] Start to prepare \(job.jobRunID) (attempt \(attempt.attempt)) on \(agent.name) [\(workDirectory)]\n")
        var job = job
        if job.needsSecrets {
            // Not in the message: fetched from the scheduler now that this agent holds the job.
            let names = job.environmentVariables.filter(\.secure).map(\.name)
            var parts = names.isEmpty ? [] : ["\(names.count) secure variable\(names.count == 1 ? "" : "s") (\(names.joined(separator: ", ")))"]
            if !job.artifacts.isEmpty || job.tasks.contains(where: { if case .fetch = $0 { true } else { false } }) {
                parts.append("the artifact token")
            }
            let withheld = job.materials.filter(\.credentialsWithheld).map(\.name)
            if !withheld.isEmpty { parts.append("credentials of \(withheld.joined(separator: ", "))") }
            await console.write("[relevo] Fetching from the scheduler: \(parts.joined(separator: ", "))\n")
            let client = JobSecretsClient(serverURL: job.serverURL, agent: events.agent, credential: events.credential,
                                          http: ServerHTTPClient.trusting(serverCAFile))
            let secrets = try await client.fetch(attempt)
            let missing = Set(names).subtracting(secrets.environmentVariables.map(\.name))
            if !missing.isEmpty {
                await console.write("[relevo] The scheduler has no value for \(missing.sorted().joined(separator: ", ")) (the config changed?): empty\n")
            }
            job = job.filling(secrets)
        }
        // A plain path (no URL): this runs for every job.
        let directory = pipelinesDirectory + "/" + workspace
        if job.cleanWorkspace, FileManager.default.fileExists(atPath: directory) {
            await console.write("[relevo] Cleaning working directory \(directory)\n")
            try FileManager.default.removeItem(atPath: directory)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

        // GoCD's GO_FROM_REVISION_*: the first commit since the previous instance's revision.
        var firstNewCommits: [String: String] = [:]
        if job.fetchMaterials {
            let git = GitClient(cacheRoot: URL(fileURLWithPath: workDirectory).appendingPathComponent("mirrors").path,
                                environment: Self.inheritedEnvironment)
            for material in job.materials {
                let root = URL(fileURLWithPath: directory)
                let destination = material.destination.isEmpty ? root : root.appendingPathComponent(material.destination)
                await console.write("[relevo] Start updating material \(material.name) (\(GitURL.redacted(material.url))) at revision \(material.revision) into \(destination.path)\n")
                _ = try await git.checkout(url: material.url, revision: material.revision, into: destination.path, shallow: material.shallowClone)
                if let previous = material.previousRevision, previous != material.revision,
                   let first = await git.firstCommit(after: previous, upTo: material.revision, in: destination.path) {
                    firstNewCommits[material.name] = first
                }
            }
        }

        let base = Self.inheritedEnvironment
        let environment = JobEnvironment.build(base: base, goVariables: goVariables(job, attempt: attempt, agent: agent,
                                                                                    firstNewCommits: firstNewCommits),
                                               job: job.environmentVariables)
        let artifacts = ArtifactClient(serverURL: job.serverURL, logger: logger,
                                       credentials: (job.artifactToken, job.artifactLocator, attempt.attempt), http: ServerHTTPClient.trusting(serverCAFile))
        let workDirectory = directory
        let execution = TaskSequenceRunner(
            tasks: job.tasks, workingDirectory: directory, environment: environment.variables,
            secureValues: environment.secureValues,
            inactivityTimeout: job.inactivityTimeoutSeconds.map { .seconds($0) },
            launcher: TaskProcesses.launcher(supervised: supervised),
            console: { text in await console.write(text) },
            fetch: { task in try await Self.fetch(task, into: workDirectory, client: artifacts, console: console) })
        // The first task starts while the broker confirms "task started"; that event is out
        // before the job's result is published (the caller publishes `finished` after this).
        let started = announceStart ? Task { await events.publishBestEffort(.taskStarted(attempt, index: 0)) } : nil
        if await !running.attach(execution, to: job.jobRunID) {
            await console.write("[relevo] The job was cancelled while it was being prepared\n")
            await execution.cancel()
        }
        let outcome = await execution.run()
        await started?.value
        if outcome.result == .cancelled { return .cancelled }
        // GoCD publishes artifacts whatever the result (test reports matter most when tests
        // fail); a failed upload fails the job.
        let published = await publishArtifacts(job, from: directory, client: artifacts, console: console)
        return outcome.result == .passed && published ? .passed : .failed
    }

    /// Uploads the job's `artifacts`; false (with the reason in the console) if any failed.
    private func publishArtifacts(_ job: JobMessage, from directory: String, client: ArtifactClient,
                                  console: ConsoleStreamer) async -> Bool {
        guard !job.artifacts.isEmpty else { return true }
        let uploads: [ArtifactCollector.Upload]
        do {
            uploads = try ArtifactCollector(root: directory).uploads(for: job.artifacts)
        } catch {
            await console.write("[relevo] Artifact refused: \(error.description)\n")
            return false
        }
        let total = uploads.reduce(Int64(0)) { $0 + $1.size }
        await console.write("[relevo] Uploading \(uploads.count) artifact file(s), \(ConsoleFormat.bytes(total)), to \(job.artifactLocator)\n")
        for upload in uploads {
            let started = ContinuousClock.now
            do {
                try await client.upload(upload.file, size: upload.size, to: upload.path, locator: job.artifactLocator, token: job.artifactToken,
                                        attempt: job.attempt)
                await console.write("[relevo] Uploaded \(upload.path) (\(ConsoleFormat.bytes(upload.size)), \(ConsoleFormat.describe(ContinuousClock.now - started)))\n")
            } catch {
                await console.write("[relevo] Artifact upload failed: \(error)\n")
                return false
            }
        }
        return true
    }

    /// A `fetch` task: downloads from the job run the scheduler pinned.
    private static func fetch(_ task: FetchTask, into workDirectory: String, client: ArtifactClient,
                              console: ConsoleStreamer) async throws {
        guard let locator = task.resolved else {
            throw TaskError(.fetchFailed, operation: "fetch \(task.source)",
                            message: task.unresolvedReason ?? "the scheduler did not say where the artifact comes from")
        }
        let source: ArtifactPath
        let destination: ArtifactPath
        do {
            source = try ArtifactPath(task.source)
            destination = try ArtifactPath(task.destination)
        } catch {
            throw TaskError(.fetchFailed, operation: "fetch \(task.source)", message: error.description)
        }
        let target = ([workDirectory] + destination.segments).joined(separator: "/")
        await console.write("[relevo] Fetching \(task.isFile ? "file" : "folder") \(source) from \(locator) into \(target)\n")
        let files = try await client.fetch(source, isFile: task.isFile, from: locator, into: target)
        await console.write("[relevo] Fetched \(files.count) file(s)\n")
    }

    /// GoCD's standard variables, so that existing scripts run unchanged.
    func goVariables(_ job: JobMessage, attempt: JobAttempt, agent: AgentIdentity, firstNewCommits: [String: String] = [:]) -> [String: String] {
        let id = job.jobRunID
        var variables = [
            "GO_SERVER_URL": job.serverURL,
            "GO_PIPELINE_NAME": id.pipeline,
            "GO_PIPELINE_COUNTER": String(id.pipelineCounter),
            "GO_PIPELINE_LABEL": job.pipelineLabel,
            "GO_STAGE_NAME": id.stage,
            "GO_STAGE_COUNTER": String(id.stageCounter),
            "GO_JOB_NAME": id.job,
            "GO_AGENT_NAME": agent.name,
            "GO_AGENT_UUID": agent.uuid,
            "GO_AGENT_RESOURCES": agent.resources.joined(separator: ","),
            "RELEVO_JOB_ATTEMPT": String(attempt.attempt),
        ]
        if job.runCount > 1 {
            variables["GO_JOB_RUN_INDEX"] = String(id.runIndex)
            variables["GO_JOB_RUN_COUNT"] = String(job.runCount)
        }
        if let environment = job.environment { variables["GO_ENVIRONMENT_NAME"] = environment }
        for material in job.materials {
            let suffix = Self.variableSuffix(material.name)
            variables["GO_REVISION_\(suffix)"] = material.revision
            variables["GO_MATERIAL_BRANCH_\(suffix)"] = material.branch
            // GoCD's change variables: TO is the revision built, FROM the first commit since the
            // previous instance (the revision itself when it did not move, or when git cannot tell).
            variables["GO_TO_REVISION_\(suffix)"] = material.revision
            variables["GO_FROM_REVISION_\(suffix)"] = firstNewCommits[material.name] ?? material.revision
            variables["GO_MATERIAL_\(suffix)_HAS_CHANGED"] = material.previousRevision == material.revision ? "false" : "true"
        }
        if job.materials.count == 1, let only = job.materials.first {
            let suffix = Self.variableSuffix(only.name)
            variables["GO_REVISION"] = only.revision
            variables["GO_TO_REVISION"] = variables["GO_TO_REVISION_\(suffix)"]
            variables["GO_FROM_REVISION"] = variables["GO_FROM_REVISION_\(suffix)"]
            variables["GO_MATERIAL_HAS_CHANGED"] = variables["GO_MATERIAL_\(suffix)_HAS_CHANGED"]
        }
        return variables
    }

    /// GoCD's spelling of a material name in a variable: upper case, anything else `_`.
    static func variableSuffix(_ name: String) -> String {
        String(name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }
}

extension EventPublisher {
    /// Publishes an event that only informs (task started), without holding the job up for long.
    func publishBestEffort(_ event: WorkerEvent) async {
        do { try await publish(event, patience: .seconds(5)) } catch {
            logger.debug("event not published", metadata: ["event": "\(event.routingKey)", "error": "\(error)"])
        }
    }
}
