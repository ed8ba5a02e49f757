import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Shared

/// The REST API on GoCD's paths. Every error is JSON `{"message": …}` with a 4xx/5xx status
/// chosen here, the only layer that knows HTTP.
struct APIRoutes {
    let engine: SchedulerEngine
    let logger: Logger

    func register(on router: Router<RelevoRequestContext>) {
        router.get("/go/api/v1/health") { _, _ in Self.json(["health": "OK"]) }

        router.post("/go/api/pipelines/:name/schedule") { request, context in
            await handle(logger) {
                let name = try context.parameters.require("name")
                let body = try await Self.decodeBody(ScheduleRequest.self, from: request, allowEmpty: true)
                var revisions: [String: String] = [:]
                for material in body?.materials ?? [] { revisions[material.name] = material.revision }
                let run = try await engine.trigger(name, cause: .manual(user: context.user?.name ?? "anonymous"), revisions: revisions)
                return Self.json(ScheduledJSON(message: "Request to schedule pipeline \(name) accepted", counter: run.counter, label: run.label),
                                 status: .accepted)
            }
        }

        router.post("/go/api/pipelines/:name/pause") { request, context in
            await handle(logger) {
                let name = try context.parameters.require("name")
                let body = try await Self.decodeBody(PauseRequest.self, from: request, allowEmpty: true)
                try await engine.pause(name, user: context.user?.name ?? "anonymous", reason: body?.pause_cause ?? "")
                return Self.json(MessageJSON(message: "Pipeline '\(name)' paused successfully."))
            }
        }

        router.post("/go/api/pipelines/:name/unpause") { _, context in
            await handle(logger) {
                let name = try context.parameters.require("name")
                try await engine.unpause(name)
                return Self.json(MessageJSON(message: "Pipeline '\(name)' unpaused successfully."))
            }
        }

        router.post("/go/api/pipelines/:name/unlock") { _, context in
            await handle(logger) {
                let name = try context.parameters.require("name")
                try await engine.unlock(name)
                return Self.json(MessageJSON(message: "Pipeline lock released for \(name)"))
            }
        }

        // GoCD's "run stage" for a stage that waits for approval (the play button). Unlike GoCD it
        // never re-runs an ended stage: pressing play twice must not deploy twice. That is
        // `.../<stage counter>/rerun`, which names the run it repeats.
        router.post("/go/api/stages/:name/:counter/:stage/run") { _, context in
            await handle(logger) {
                let pipeline = try context.parameters.require("name")
                let counter = try Self.positive(context.parameters.require("counter"), "counter")
                let stage = try context.parameters.require("stage")
                try await engine.approve(pipeline, counter: counter, stage: stage, user: context.user ?? .open)
                return Self.json(MessageJSON(message: "Request to run stage \(pipeline)/\(counter)/\(stage) accepted"), status: .accepted)
            }
        }

        // The whole stage again, or its failed (and cancelled) jobs; the rest are copied.
        for (action, selection, message) in [("rerun", RerunSelection.all, "Request to rerun stage accepted"),
                                             ("run-failed-jobs", .failed, "Request to rerun jobs accepted")] {
            router.post(RouterPath("/go/api/stages/:name/:counter/:stage/:stageCounter/\(action)")) { _, context in
                await handle(logger) {
                    let (pipeline, counter, stage, stageCounter) = try Self.stagePath(context)
                    let next = try await engine.rerun(pipeline, counter: counter, stage: stage, stageCounter: stageCounter,
                                                      jobs: selection, user: context.user ?? .open)
                    return Self.json(RerunJSON(message: message, stage_counter: next), status: .accepted)
                }
            }
        }

        // Body: {"jobs": ["name", …]}.
        router.post("/go/api/stages/:name/:counter/:stage/:stageCounter/run-selected-jobs") { request, context in
            await handle(logger) {
                let (pipeline, counter, stage, stageCounter) = try Self.stagePath(context)
                guard let body = try await Self.decodeBody(RunSelectedJobsRequest.self, from: request, allowEmpty: false),
                      !body.jobs.isEmpty else {
                    throw APIError(.badRequest, "expected {\"jobs\": [\"job name\", …]} with at least one job")
                }
                let next = try await engine.rerun(pipeline, counter: counter, stage: stage, stageCounter: stageCounter,
                                                  jobs: .named(body.jobs), user: context.user ?? .open)
                return Self.json(RerunJSON(message: "Request to rerun jobs accepted", stage_counter: next), status: .accepted)
            }
        }

        router.post("/go/api/stages/:name/:counter/:stage/:stageCounter/cancel") { _, context in
            await handle(logger) {
                let pipeline = try context.parameters.require("name")
                let counter = try Self.positive(context.parameters.require("counter"), "counter")
                let stage = try context.parameters.require("stage")
                try await engine.cancel(pipeline, counter: counter, stage: stage, user: context.user?.name ?? "anonymous")
                return Self.json(MessageJSON(message: "Stage cancelled successfully."))
            }
        }

        // GoCD's job history: /go/api/jobs/<pipeline>/<stage>/<job>/history (the route's parameter
        // names follow the neighbouring job route's: here `counter` is the stage, `stage` the job).
        router.get("/go/api/jobs/:name/:counter/:stage/history") { request, context in
            await handle(logger) {
                let pipeline = try context.parameters.require("name")
                let stageName = try context.parameters.require("counter")
                let jobName = try context.parameters.require("stage")
                guard let definition = await engine.config.pipeline(named: pipeline) else {
                    throw APIError(.notFound, "no pipeline named '\(pipeline)'")
                }
                guard definition.stage(named: stageName)?.job(named: jobName) != nil else {
                    throw APIError(.notFound, "pipeline '\(pipeline)' has no job '\(stageName)/\(jobName)'")
                }
                let size = try request.uri.queryParameters["page_size"].map { try Self.positive(String($0), "page_size") } ?? 10
                let offset = try request.uri.queryParameters["offset"].map { try Self.natural(String($0), "offset") } ?? 0
                let page = try await engine.store.history(of: pipeline, limit: min(size, 100), offset: offset)
                var jobs: [JobHistoryJSON] = []
                for run in page.runs {
                    for stage in run.stageRuns(named: stageName) {
                        for job in stage.jobs where job.name == jobName && !job.isCopy {
                            jobs.append(JobHistoryJSON(pipeline_name: run.pipelineName, pipeline_counter: run.counter, stage_name: stage.name,
                                                       stage_counter: stage.counter, job: JobRunJSON(job)))
                        }
                    }
                }
                return Self.json(JobHistoryPageJSON(jobs: jobs, pagination: .init(offset: page.offset, total: page.total, page_size: page.limit)))
            }
        }

        // A summary for dashboards: every pipeline by group with its newest instance.
        router.get("/go/api/dashboard") { _, _ in
            await handle(logger) {
                let config = await engine.config
                let pauses = try await engine.store.pauses()
                var groups: [String: [String]] = [:]
                var pipelines: [DashboardPipelineJSON] = []
                for pipeline in config.pipelines.sorted(by: { $0.name < $1.name }) {
                    groups[pipeline.group, default: []].append(pipeline.name)
                    let latest = try await engine.store.history(of: pipeline.name, limit: 1).runs.first
                    let pause = pauses[pipeline.name.lowercased()]
                    pipelines.append(DashboardPipelineJSON(name: pipeline.name, group: pipeline.group, paused: pause != nil,
                                                           paused_by: pause?.pausedBy, pause_reason: pause?.reason,
                                                           latest_instance: latest.map(PipelineRunJSON.init)))
                }
                let groupList = groups.keys.sorted().map { DashboardGroupJSON(name: $0, pipelines: groups[$0] ?? []) }
                return Self.json(DashboardJSON(pipeline_groups: groupList, pipelines: pipelines))
            }
        }

        router.get("/go/api/pipelines/:name/history") { request, context in
            await handle(logger) {
                let name = try context.parameters.require("name")
                guard await engine.config.pipeline(named: name) != nil else {
                    throw APIError(.notFound, "no pipeline named '\(name)'")
                }
                let size = try request.uri.queryParameters["page_size"].map { try Self.positive(String($0), "page_size") } ?? 10
                let offset = try request.uri.queryParameters["offset"].map { try Self.natural(String($0), "offset") } ?? 0
                let page = try await engine.store.history(of: name, limit: min(size, 100), offset: offset)
                return Self.json(Embedded(key: "pipelines", items: page.runs.map(PipelineRunJSON.init),
                                          extra: ["total": page.total, "offset": page.offset, "page_size": page.limit],
                                          alsoTopLevel: true))
            }
        }

        router.get("/go/api/pipelines/:name/:counter") { _, context in
            await handle(logger) {
                let run = try await Self.run(engine, context)
                return Self.json(PipelineRunJSON(run))
            }
        }

        router.get("/go/api/stages/:name/:counter/:stage/:stageCounter") { _, context in
            await handle(logger) {
                let run = try await Self.run(engine, context)
                let stage = try Self.stage(run, context)
                return Self.json(StageRunJSON(stage))
            }
        }

        router.get("/go/api/jobs/:name/:counter/:stage/:stageCounter/:job") { _, context in
            await handle(logger) {
                let run = try await Self.run(engine, context)
                let stage = try Self.stage(run, context)
                let name = try context.parameters.require("job")
                let jobs = stage.jobs.filter { $0.name == name }
                guard !jobs.isEmpty else { throw APIError(.notFound, "no job '\(name)' in \(run.pipelineName)/\(run.counter)/\(stage.name)") }
                return Self.json(Embedded(key: "jobs", items: jobs.map(JobRunJSON.init), extra: [:]))
            }
        }

        // GoCD serves a job's console here; `?run_index=N` picks a run_instances copy, `?start=B`
        // skips the first B bytes so a client can tail it.
        router.get("/go/files/:name/:counter/:stage/:stageCounter/:job/cruise-output/console.log") { request, context in
            await handle(logger) {
                let run = try await Self.run(engine, context)
                let stage = try Self.stage(run, context)
                let name = try context.parameters.require("job")
                let runIndex = try request.uri.queryParameters["run_index"].map { try Self.positive(String($0), "run_index") } ?? 1
                let start = try request.uri.queryParameters["start"].map { try Self.natural(String($0), "start") } ?? 0
                let key = JobKey(stage: stage.name, stageCounter: stage.counter, job: name, runIndex: runIndex)
                guard run.job(key) != nil else { throw APIError(.notFound, "no job \(key) in \(run.pipelineName)/\(run.counter)") }
                let console = try await engine.store.console(of: key, pipeline: run.pipelineName, counter: run.counter)
                let bytes = Array(console?.text.utf8 ?? "".utf8)
                let slice = start < bytes.count ? Array(bytes[start...]) : []
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; charset=utf-8"
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: slice)))
            }
        }

        // A job's console as server-sent events: `data: {"text": …}` as output is stored (each
        // with `id: <attempt>-<byte offset>`, so a reconnecting EventSource resumes where it was),
        // `event: attempt` when the broker handed the job to another worker (the text starts
        // over), `event: end` with the result. A stream lasts 30 s at most; browsers reconnect.
        router.get("/go/api/jobs/:name/:counter/:stage/:stageCounter/:job/console/stream") { request, context in
            await handle(logger) {
                let run = try await Self.run(engine, context)
                let stage = try Self.stage(run, context)
                let name = try context.parameters.require("job")
                let runIndex = try request.uri.queryParameters["run_index"].map { try Self.positive(String($0), "run_index") } ?? 1
                let key = JobKey(stage: stage.name, stageCounter: stage.counter, job: name, runIndex: runIndex)
                guard run.job(key) != nil else { throw APIError(.notFound, "no job \(key) in \(run.pipelineName)/\(run.counter)") }
                // Resume point: `Last-Event-ID` (`<attempt>-<offset>`), else `?start=<offset>`.
                var position = (attempt: 0, offset: try request.uri.queryParameters["start"].map { try Self.natural(String($0), "start") } ?? 0)
                if let last = request.headers[HTTPField.Name("Last-Event-ID")!] {
                    let parts = last.split(separator: "-").compactMap { Int($0) }
                    if parts.count == 2 { position = (parts[0], parts[1]) }
                }
                let runID = JobRunID(pipeline: run.pipelineName, counter: run.counter, key: key)
                let (store, signal, pipeline, counter) = (engine.store, engine.consoleSignal, run.pipelineName, run.counter)
                let start = position
                let body = ResponseBody { writer in
                    var (attempt, offset) = start
                    let deadline = ContinuousClock.now + .seconds(30)
                    try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                    while true {
                        guard let console = try await store.console(of: key, pipeline: pipeline, counter: counter) else { break }
                        if attempt != console.attempt.attempt {
                            if attempt != 0 {
                                try await writer.write(ByteBuffer(string: "event: attempt\ndata: {\"attempt\": \(console.attempt.attempt)}\n\n"))
                                offset = 0
                            }
                            attempt = console.attempt.attempt
                        }
                        let bytes = Array(console.text.utf8)
                        if offset < bytes.count {
                            let text = String(decoding: bytes[offset...], as: UTF8.self)
                            offset = bytes.count
                            let data = try JSONSerialization.data(withJSONObject: ["text": text])
                            try await writer.write(ByteBuffer(string: "id: \(attempt)-\(offset)\ndata: \(String(decoding: data, as: UTF8.self))\n\n"))
                        }
                        if console.job.state == .completed {
                            try await writer.write(ByteBuffer(string: "event: end\ndata: {\"result\": \"\(console.job.result.rawValue)\"}\n\n"))
                            break
                        }
                        guard ContinuousClock.now < deadline, !signal.isClosed else { break }
                        await signal.wait(for: runID, upTo: .seconds(1))
                    }
                    try await writer.finish(nil)
                }
                var headers = HTTPFields()
                headers[.contentType] = "text/event-stream"
                headers[.cacheControl] = "no-cache"
                return Response(status: .ok, headers: headers, body: body)
            }
        }

        // Relevo's own: every relevo.* queue with its depth and consumers, asked of the broker.
        router.get("/go/api/queues") { _, _ in
            await handle(logger) {
                let queues = await engine.queueStatuses().map(QueueJSON.init)
                return Self.json(Embedded(key: "queues", items: queues, extra: [:]))
            }
        }

        // GoCD's agent update (admins): {"agent_config_state": "Enabled" | "Disabled",
        // "resources": ["linux", …] or "linux,rpm", "environments": [...]}, any of them; a null
        // resources or environments gives the agent back its own.
        router.patch("/go/api/agents/:uuid") { request, context in
            await handle(logger) {
                let uuid = try context.parameters.require("uuid")
                let usage = "expected {\"agent_config_state\": \"Enabled\" or \"Disabled\", \"resources\": [...], \"environments\": [...]} (any of them)"
                guard let body = try await Self.decodeBody(AgentUpdateRequest.self, from: request, allowEmpty: false),
                      body.agent_config_state != nil || body.resources != nil || body.environments != nil else {
                    throw APIError(.badRequest, usage)
                }
                var enabled: Bool?
                if let state = body.agent_config_state {
                    guard ["enabled", "disabled"].contains(state.lowercased()) else { throw APIError(.badRequest, usage) }
                    enabled = state.lowercased() == "enabled"
                }
                let named = [body.resources, body.environments].compactMap { $0 ?? nil }.flatMap { $0 }
                for name in named where !ConfigName.isValid(name) {
                    throw APIError(.badRequest, "'\(name)' is not a valid resource or environment name (letters, digits, '-', '_', '.')")
                }
                let agent = try await engine.updateAgent(uuid, enabled: enabled, resources: body.resources, environments: body.environments)
                return Self.json(AgentJSON(agent))
            }
        }

        router.get("/go/api/agents") { _, _ in
            await handle(logger) {
                let agents = try await engine.store.agents()
                return Self.json(Embedded(key: "agents", items: agents.map(AgentJSON.init), extra: [:]))
            }
        }
    }

    // MARK: Helpers

    private static func run(_ engine: SchedulerEngine, _ context: RelevoRequestContext) async throws -> PipelineRun {
        let name = try context.parameters.require("name")
        let counter = try positive(context.parameters.require("counter"), "counter")
        guard let run = try await engine.store.pipelineRun(name, counter: counter) else {
            throw APIError(.notFound, "no instance \(name)/\(counter)")
        }
        return run
    }

    private static func stage(_ run: PipelineRun, _ context: RelevoRequestContext) throws -> StageRun {
        let name = try context.parameters.require("stage")
        let counter = try positive(context.parameters.require("stageCounter"), "stage counter")
        guard let stage = run.stageRun(named: name, counter: counter) else {
            throw APIError(.notFound, "no stage \(name)/\(counter) in \(run.pipelineName)/\(run.counter)")
        }
        return stage
    }

    private static func stagePath(_ context: RelevoRequestContext) throws -> (String, Int, String, Int) {
        (try context.parameters.require("name"), try positive(context.parameters.require("counter"), "counter"),
         try context.parameters.require("stage"), try positive(context.parameters.require("stageCounter"), "stage counter"))
    }

    static func positive(_ text: String, _ what: String) throws -> Int {
        guard let value = Int(text), value > 0 else { throw APIError(.badRequest, "\(what) must be a positive whole number, not '\(text)'") }
        return value
    }

    static func natural(_ text: String, _ what: String) throws -> Int {
        guard let value = Int(text), value >= 0 else { throw APIError(.badRequest, "\(what) must be a whole number ≥ 0, not '\(text)'") }
        return value
    }

    static func decodeBody<T: Decodable>(_ type: T.Type, from request: Request, allowEmpty: Bool) async throws -> T? {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        if buffer.readableBytes == 0 {
            if allowEmpty { return nil }
            throw APIError(.badRequest, "a JSON body is required")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, "the body is not valid: \(error)")
        }
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestampFormatter.string(from: date))
        }
        let data: Data
        do { data = try encoder.encode(value) } catch {
            data = Data("{\"message\":\"cannot encode the response\"}".utf8)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// ISO 8601 with milliseconds (`2024-05-01T10:00:00.123Z`): job timings of a few milliseconds
/// must be readable from the API (the benchmark measures dispatch latency with them). The
/// formatter is immutable after creation and Foundation documents it as thread-safe.
private nonisolated(unsafe) let timestampFormatter: ISO8601DateFormatter = {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter
}()

/// A refusal with its HTTP status.
struct APIError: Error {
    let status: HTTPResponse.Status
    let message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

struct ScheduleRequest: Decodable {
    struct Material: Decodable {
        let name: String
        let revision: String
    }
    let materials: [Material]?
}

struct JobHistoryJSON: Encodable {
    let pipeline_name: String
    let pipeline_counter: Int
    let stage_name: String
    let stage_counter: Int
    let job: JobRunJSON
}

struct JobHistoryPageJSON: Encodable {
    struct Pagination: Encodable {
        let offset: Int
        let total: Int
        let page_size: Int
    }
    let jobs: [JobHistoryJSON]
    let pagination: Pagination
}

struct DashboardGroupJSON: Encodable {
    let name: String
    let pipelines: [String]
}

struct DashboardPipelineJSON: Encodable {
    let name: String
    let group: String
    let paused: Bool
    let paused_by: String?
    let pause_reason: String?
    let latest_instance: PipelineRunJSON?
}

struct DashboardJSON: Encodable {
    let pipeline_groups: [DashboardGroupJSON]
    let pipelines: [DashboardPipelineJSON]
}

/// GoCD's agent update body. `resources` and `environments` tell absent (`nil`: unchanged) from
/// null (`.some(nil)`: the agent's own again); resources may also be one comma-separated string.
struct AgentUpdateRequest: Decodable {
    let agent_config_state: String?
    let resources: [String]??
    let environments: [String]??

    private enum Keys: String, CodingKey { case agent_config_state, resources, environments }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        agent_config_state = try container.decodeIfPresent(String.self, forKey: .agent_config_state)
        resources = try Self.names(container, .resources)
        environments = try Self.names(container, .environments)
    }

    private static func names(_ container: KeyedDecodingContainer<Keys>, _ key: Keys) throws -> [String]?? {
        guard container.contains(key) else { return nil }
        if try container.decodeNil(forKey: key) { return .some(nil) }
        if let list = try? container.decode([String].self, forKey: key) { return .some(list.filter { !$0.isEmpty }) }
        guard let text = try? container.decode(String.self, forKey: key) else {
            throw APIError(.badRequest, "'\(key.rawValue)' must be a list of names or one comma-separated string, "
                + "e.g. [\"linux\", \"rpm\"] or \"linux,rpm\" (null gives the agent back its own)")
        }
        return .some(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }
}

struct RunSelectedJobsRequest: Decodable {
    let jobs: [String]
}

/// GoCD's acknowledgement of a job re-run, plus the new stage run's counter.
struct RerunJSON: Encodable {
    let message: String
    let stage_counter: Int
}

struct PauseRequest: Decodable {
    let pause_cause: String?
}

struct QueueJSON: Encodable {
    let name: String
    /// Ready messages.
    let messages: Int
    /// Delivered, not acked yet; absent without the broker's management API.
    let messages_unacknowledged: Int?
    let consumers: Int
    let single_active_consumer: Bool
    /// The connection whose consumer is active, for a single-active-consumer queue (management API only).
    let active_consumer: String?

    init(_ report: QueueReport) {
        name = report.name
        messages = report.ready
        messages_unacknowledged = report.unacknowledged
        consumers = report.consumers
        single_active_consumer = report.singleActiveConsumer
        active_consumer = report.activeConsumer
    }
}

struct ScheduledJSON: Encodable {
    let message: String
    let counter: Int
    let label: String
}

/// Runs a route body and turns every failure into a JSON error with the right status.
func handle(_ logger: Logger, _ body: () async throws -> Response) async -> Response {
    do {
        return try await body()
    } catch let error as APIError {
        return APIRoutes.json(MessageJSON(message: error.message), status: error.status)
    } catch let error as SchedulerEngine.RequestError {
        let status: HTTPResponse.Status = switch error.code {
        case .notFound: .notFound
        case .conflict: .conflict
        case .unavailable: .serviceUnavailable
        case .forbidden: .forbidden
        case .badRequest: .badRequest
        }
        return APIRoutes.json(MessageJSON(message: error.description), status: status)
    } catch let error as StoreError where error.isRetriable {
        return APIRoutes.json(MessageJSON(message: "busy, try again: \(error.description)"), status: .serviceUnavailable)
    } catch let error as HTTPError {
        return APIRoutes.json(MessageJSON(message: error.body ?? "\(error.status)"), status: error.status)
    } catch {
        logger.error("request failed", metadata: ["error": "\(error)"])
        return APIRoutes.json(MessageJSON(message: "internal error: \(error)"), status: .internalServerError)
    }
}
