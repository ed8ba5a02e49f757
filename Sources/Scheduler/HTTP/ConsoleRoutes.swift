import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Shared

/// A job's console: the whole text from a byte offset (GoCD's `console.log`), and a live stream
/// of server-sent events that pushes output as soon as it is stored.
struct ConsoleRoutes {
    let engine: SchedulerEngine
    let logger: Logger

    func register(on router: Router<RelevoRequestContext>) {
        router.get("/go/files/:name/:counter/:stage/:stageCounter/:job/cruise-output/console.log") { request, context in
            let run = try await APIRoutes.run(engine, context)
            let stage = try APIRoutes.stage(run, context)
            let name = try context.parameters.require("job")
            let runIndex = try request.uri.queryParameters["run_index"].map { try APIRoutes.positive(String($0), "run_index") } ?? 1
            let start = try request.uri.queryParameters["start"].map { try APIRoutes.natural(String($0), "start") } ?? 0
            let key = JobKey(stage: stage.name, stageCounter: stage.counter, job: name, runIndex: runIndex)
            guard run.job(key) != nil else { throw APIError(.notFound, "no job \(key) in \(run.pipelineName)/\(run.counter)") }
            let console = try await engine.queries.console(of: key, pipeline: run.pipelineName, counter: run.counter)
            let bytes = Array(console?.text.utf8 ?? "".utf8)
            let slice = start < bytes.count ? Array(bytes[start...]) : []
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: slice)))
        }

        // A job's console as server-sent events: `data: {"text": …}` as output is stored (each
        // with `id: <attempt>-<byte offset>`, so a reconnecting EventSource resumes where it was),
        // `event: attempt` when the broker handed the job to another worker (the text starts
        // over), `event: end` with the result. A stream lasts 30 s at most; browsers reconnect.
        router.get("/go/api/jobs/:name/:counter/:stage/:stageCounter/:job/console/stream") { request, context in
            let run = try await APIRoutes.run(engine, context)
            let stage = try APIRoutes.stage(run, context)
            let name = try context.parameters.require("job")
            let runIndex = try request.uri.queryParameters["run_index"].map { try APIRoutes.positive(String($0), "run_index") } ?? 1
            let key = JobKey(stage: stage.name, stageCounter: stage.counter, job: name, runIndex: runIndex)
            guard run.job(key) != nil else { throw APIError(.notFound, "no job \(key) in \(run.pipelineName)/\(run.counter)") }
            // Resume point: `Last-Event-ID` (`<attempt>-<offset>`), else `?start=<offset>`.
            var position = (attempt: 0, offset: try request.uri.queryParameters["start"].map { try APIRoutes.natural(String($0), "start") } ?? 0)
            if let last = request.headers[HTTPField.Name("Last-Event-ID")!] {
                let parts = last.split(separator: "-").compactMap { Int($0) }
                if parts.count == 2 { position = (parts[0], parts[1]) }
            }
            let runID = JobRunID(pipeline: run.pipelineName, counter: run.counter, key: key)
            let (store, signal, pipeline, counter) = (engine.queries, engine.consoleSignal, run.pipelineName, run.counter)
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

        // Relevo's own: every relevo.* queue with its depth and consumers, asked of the broker.
    }
}
