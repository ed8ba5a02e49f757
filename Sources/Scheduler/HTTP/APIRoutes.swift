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
    /// JUnit reports of jobs' `test` artifacts (nil: the tests route answers 404).
    var testReports: TestReports?

    func register(on router: Router<RelevoRequestContext>) {
        router.get("/go/api/v1/health") { _, _ in Self.json(["health": "OK"]) }

        // GoCD's encryption API (administrators): {"value": "…"} → {"encrypted_value": "AES:…"},
        // for `secure_variables` that can sit in a repository.
        router.post("/go/api/admin/encrypt") { request, _ in
            struct EncryptRequest: Decodable { let value: String }
            guard let body = try await Self.decodeBody(EncryptRequest.self, from: request, allowEmpty: false) else {
                throw APIError(.badRequest, "expected {\"value\": \"<the text to encrypt>\"}")
            }
            guard let cipher = engine.dispatcher.secrets.cipher else {
                throw APIError(.serviceUnavailable, "this server has no cipher key")
            }
            return Self.json(["encrypted_value": cipher.encrypt(body.value)])
        }

        router.post("/go/api/pipelines/:name/schedule") { request, context in
            let name = try context.parameters.require("name")
            let body = try await Self.decodeBody(ScheduleRequest.self, from: request, allowEmpty: true)
            var revisions: [String: String] = [:]
            for material in body?.materials ?? [] { revisions[material.name] = material.revision }
            let variables = (body?.environment_variables ?? []).map { EnvironmentVariable(name: $0.name, value: $0.value, secure: $0.secure ?? false) }
            let run = try await engine.trigger(name, cause: .manual(user: context.user?.name ?? "anonymous"), revisions: revisions,
                                               variables: variables, updateMaterials: body?.update_materials_before_scheduling ?? true)
            return Self.json(ScheduledJSON(message: "Request to schedule pipeline \(name) accepted", counter: run.counter, label: run.label),
                             status: .accepted)
        }

        router.post("/go/api/pipelines/:name/pause") { request, context in
            let name = try context.parameters.require("name")
            let body = try await Self.decodeBody(PauseRequest.self, from: request, allowEmpty: true)
            try await engine.pause(name, user: context.user?.name ?? "anonymous", reason: body?.pause_cause ?? "")
            return Self.json(MessageJSON(message: "Pipeline '\(name)' paused successfully."))
        }

        router.post("/go/api/pipelines/:name/unpause") { _, context in
            let name = try context.parameters.require("name")
            try await engine.unpause(name)
            return Self.json(MessageJSON(message: "Pipeline '\(name)' unpaused successfully."))
        }

        router.post("/go/api/pipelines/:name/unlock") { _, context in
            let name = try context.parameters.require("name")
            try await engine.unlock(name)
            return Self.json(MessageJSON(message: "Pipeline lock released for \(name)"))
        }

        // GoCD's "run stage" for a stage that waits for approval (the play button). Unlike GoCD it
        // never re-runs an ended stage: pressing play twice must not deploy twice. That is
        // `.../<stage counter>/rerun`, which names the run it repeats.
        router.post("/go/api/stages/:name/:counter/:stage/run") { _, context in
            let pipeline = try context.parameters.require("name")
            let counter = try Self.positive(context.parameters.require("counter"), "counter")
            let stage = try context.parameters.require("stage")
            try await engine.approve(pipeline, counter: counter, stage: stage, user: context.user ?? .open)
            return Self.json(MessageJSON(message: "Request to run stage \(pipeline)/\(counter)/\(stage) accepted"), status: .accepted)
        }

        // The whole stage again, or its failed (and cancelled) jobs; the rest are copied.
        for (action, selection, message) in [("rerun", RerunSelection.all, "Request to rerun stage accepted"),
                                             ("run-failed-jobs", .failed, "Request to rerun jobs accepted")] {
            router.post(RouterPath("/go/api/stages/:name/:counter/:stage/:stageCounter/\(action)")) { _, context in
                let (pipeline, counter, stage, stageCounter) = try Self.stagePath(context)
                let next = try await engine.rerun(pipeline, counter: counter, stage: stage, stageCounter: stageCounter,
                                                  jobs: selection, user: context.user ?? .open)
                return Self.json(RerunJSON(message: message, stage_counter: next), status: .accepted)
            }
        }

        // Body: {"jobs": ["name", …]}.
        router.post("/go/api/stages/:name/:counter/:stage/:stageCounter/run-selected-jobs") { request, context in
            let (pipeline, counter, stage, stageCounter) = try Self.stagePath(context)
            guard let body = try await Self.decodeBody(RunSelectedJobsRequest.self, from: request, allowEmpty: false),
                  !body.jobs.isEmpty else {
                throw APIError(.badRequest, "expected {\"jobs\": [\"job name\", …]} with at least one job")
            }
            let next = try await engine.rerun(pipeline, counter: counter, stage: stage, stageCounter: stageCounter,
                                              jobs: .named(body.jobs), user: context.user ?? .open)
            return Self.json(RerunJSON(message: "Request to rerun jobs accepted", stage_counter: next), status: .accepted)
        }

        router.post("/go/api/stages/:name/:counter/:stage/:stageCounter/cancel") { _, context in
            let pipeline = try context.parameters.require("name")
            let counter = try Self.positive(context.parameters.require("counter"), "counter")
            let stage = try context.parameters.require("stage")
            try await engine.cancel(pipeline, counter: counter, stage: stage, user: context.user?.name ?? "anonymous")
            return Self.json(MessageJSON(message: "Stage cancelled successfully."))
        }

        // GoCD's job history: /go/api/jobs/<pipeline>/<stage>/<job>/history (the route's parameter
        // names follow the neighbouring job route's: here `counter` is the stage, `stage` the job).
        router.get("/go/api/jobs/:name/:counter/:stage/history") { request, context in
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
            let page = try await engine.queries.history(of: pipeline, limit: min(size, 100), offset: offset)
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

        // GoCD's stage history: /go/api/stages/<pipeline>/<stage>/history, every run of the stage
        // (re-runs included) in the instances of the page, newest first. `counter` is the stage
        // here, as in the job history's route.
        router.get("/go/api/stages/:name/:counter/history") { request, context in
            let pipeline = try context.parameters.require("name")
            let stageName = try context.parameters.require("counter")
            guard let definition = await engine.config.pipeline(named: pipeline) else {
                throw APIError(.notFound, "no pipeline named '\(pipeline)'")
            }
            guard definition.stage(named: stageName) != nil else {
                throw APIError(.notFound, "pipeline '\(pipeline)' has no stage '\(stageName)'")
            }
            let size = try request.uri.queryParameters["page_size"].map { try Self.positive(String($0), "page_size") } ?? 10
            let offset = try request.uri.queryParameters["offset"].map { try Self.natural(String($0), "offset") } ?? 0
            let page = try await engine.queries.history(of: pipeline, limit: min(size, 100), offset: offset)
            let stages = page.runs.flatMap { run in run.stageRuns(named: stageName).map { StageHistoryJSON($0, of: run) } }
            return Self.json(StageHistoryPageJSON(stages: stages, pagination: .init(offset: page.offset, total: page.total, page_size: page.limit)))
        }

        // A summary for dashboards: every pipeline by group with its newest instance.
        // GoCD's pipeline config (read only): where it is defined, its materials, stages and jobs.
        router.get("/go/api/admin/pipelines/:name") { _, context in
            let name = try context.parameters.require("name")
            guard let pipeline = await engine.config.pipeline(named: name) else { throw APIError(.notFound, "no pipeline named '\(name)'") }
            return Self.json(PipelineConfigJSON(pipeline))
        }

        router.get("/go/api/dashboard") { _, _ in
            let config = await engine.config
            let pauses = try await engine.queries.pauses()
            var groups: [String: [String]] = [:]
            var pipelines: [DashboardPipelineJSON] = []
            for pipeline in config.pipelines.sorted(by: { $0.name < $1.name }) {
                groups[pipeline.group, default: []].append(pipeline.name)
                let latest = try await engine.queries.history(of: pipeline.name, limit: 1).runs.first
                let pause = pauses[pipeline.name.lowercased()]
                pipelines.append(DashboardPipelineJSON(name: pipeline.name, group: pipeline.group, paused: pause != nil,
                                                       paused_by: pause?.pausedBy, pause_reason: pause?.reason,
                                                       latest_instance: latest.map(PipelineRunJSON.init)))
            }
            let groupList = groups.keys.sorted().map { DashboardGroupJSON(name: $0, pipelines: groups[$0] ?? []) }
            return Self.json(DashboardJSON(pipeline_groups: groupList, pipelines: pipelines))
        }

        router.get("/go/api/pipelines/:name/history") { request, context in
            let name = try context.parameters.require("name")
            guard await engine.config.pipeline(named: name) != nil else {
                throw APIError(.notFound, "no pipeline named '\(name)'")
            }
            let size = try request.uri.queryParameters["page_size"].map { try Self.positive(String($0), "page_size") } ?? 10
            let offset = try request.uri.queryParameters["offset"].map { try Self.natural(String($0), "offset") } ?? 0
            let page = try await engine.queries.history(of: name, limit: min(size, 100), offset: offset)
            return Self.json(Embedded(key: "pipelines", items: page.runs.map(PipelineRunJSON.init),
                                      extra: ["total": page.total, "offset": page.offset, "page_size": page.limit],
                                      alsoTopLevel: true))
        }

        router.get("/go/api/pipelines/:name/:counter") { _, context in
            let run = try await Self.run(engine, context)
            var json = PipelineRunJSON(run)
            let definition = await engine.config.pipeline(named: run.pipelineName)
            var modifications: [PipelineRunJSON.ModificationJSON] = []
            for material in definition?.gitMaterials ?? [] {
                guard let revision = run.materialRevisions[material.name],
                      let commit = await engine.commitInfo(url: material.url, revision: revision) else { continue }
                let links = (definition?.trackingTool?.segments(of: commit.message) ?? []).compactMap { segment in
                    segment.url.map { PipelineRunJSON.ModificationJSON.Link(text: segment.text, url: $0) }
                }
                modifications.append(.init(material: material.name, revision: commit.revision, user_name: commit.author,
                                           email_address: commit.email, modified_time: commit.date, comment: commit.message, links: links))
            }
            json.modifications = modifications
            return Self.json(json)
        }

        router.get("/go/api/stages/:name/:counter/:stage/:stageCounter") { _, context in
            let run = try await Self.run(engine, context)
            let stage = try Self.stage(run, context)
            return Self.json(StageRunJSON(stage))
        }

        router.get("/go/api/jobs/:name/:counter/:stage/:stageCounter/:job") { _, context in
            let run = try await Self.run(engine, context)
            let stage = try Self.stage(run, context)
            let name = try context.parameters.require("job")
            let jobs = stage.jobs.filter { $0.name == name }
            guard !jobs.isEmpty else { throw APIError(.notFound, "no job '\(name)' in \(run.pipelineName)/\(run.counter)/\(stage.name)") }
            return Self.json(Embedded(key: "jobs", items: jobs.map(JobRunJSON.init), extra: [:]))
        }

        // A job's test report (its JUnit XML `test` artifacts): counts and each failure;
        // `?run_index=N` picks a run_instances copy.
        router.get("/go/api/jobs/:name/:counter/:stage/:stageCounter/:job/tests") { request, context in
            let run = try await Self.run(engine, context)
            let stage = try Self.stage(run, context)
            let name = try context.parameters.require("job")
            let index = request.uri.queryParameters["run_index"].flatMap { Int($0) } ?? 1
            guard let job = stage.jobs.first(where: { $0.name == name && $0.runIndex == index }) else {
                throw APIError(.notFound, "no job '\(name)' (run index \(index)) in \(run.pipelineName)/\(run.counter)/\(stage.name)")
            }
            let locator = ArtifactLocator(pipeline: run.pipelineName, pipelineCounter: run.counter, stage: stage.name,
                                          stageCounter: job.originalStageCounter ?? stage.counter,
                                          job: ArtifactLocator.jobName(job.name, runIndex: job.runIndex, runCount: job.runCount))
            guard let report = testReports?.report(of: locator, completed: job.state == .completed) else {
                throw APIError(.notFound, "\(locator) has no JUnit test report (declare its reports as `test` artifacts)")
            }
            return Self.json(report)
        }

        // GoCD serves a job's console here; `?run_index=N` picks a run_instances copy, `?start=B`
        // skips the first B bytes so a client can tail it.
    }

    // MARK: Helpers

    static func run(_ engine: SchedulerEngine, _ context: RelevoRequestContext) async throws -> PipelineRun {
        let name = try context.parameters.require("name")
        let counter = try positive(context.parameters.require("counter"), "counter")
        guard let run = try await engine.queries.pipelineRun(name, counter: counter) else {
            throw APIError(.notFound, "no instance \(name)/\(counter)")
        }
        return run
    }

    static func stage(_ run: PipelineRun, _ context: RelevoRequestContext) throws -> StageRun {
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
