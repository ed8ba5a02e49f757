import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Shared

/// The dashboard: pages rendered by the server, no build chain and nothing from the internet.
/// Each page refreshes its view in place (`?fragment=1`) and the job page tails the console by
/// byte offset, so nothing needs a reload.
struct DashboardRoutes {
    let engine: SchedulerEngine
    let artifacts: ArtifactStore
    let tokens: APITokens?
    let logger: Logger
    /// Served over HTTPS: the sign-in cookie is then `Secure` (never sent over plain HTTP).
    var secureCookies = false
    /// The sign-in sessions the cookie names (shared with ``AuthMiddleware``).
    var sessions = SignInSessions()
    /// Where the free disk that the dashboard warns about is measured.
    var disk = DiskWatch(dataDirectory: nil, purgeStartBytes: 0)
    /// JUnit reports of jobs that declare `test` artifacts.
    var testReports: TestReports?

    /// The test report of `job` in stage run `stage` of `run`, if its config declares `test`
    /// artifacts and it has a JUnit report.
    func testReport(_ run: PipelineRun, _ stage: StageRun, _ job: JobRun, config: ConfigSnapshot) -> TestReport? {
        guard let testReports,
              config.pipeline(named: run.pipelineName)?.stage(named: stage.name)?.job(named: job.name)?.artifacts.contains(where: { $0.type == .test }) == true
        else { return nil }
        let locator = ArtifactLocator(pipeline: run.pipelineName, pipelineCounter: run.counter, stage: stage.name,
                                      stageCounter: job.originalStageCounter ?? stage.counter,
                                      job: ArtifactLocator.jobName(job.name, runIndex: job.runIndex, runCount: job.runCount))
        return testReports.report(of: locator, completed: job.state == .completed)
    }

    /// A report's failing tests as a list.
    static func failureList(_ report: TestReport) -> String {
        guard !report.failures.isEmpty else { return "" }
        return "<ul class=\"failures\" data-failing-tests>" + report.failures.prefix(50).map { failure in
            "<li><b>\(HTML.escape(failure.classname.isEmpty ? failure.name : "\(failure.classname).\(failure.name)"))</b> "
                + "<span class=\"muted\">\(failure.kind)</span> \(HTML.escape(failure.message))</li>"
        }.joined() + (report.failures.count > 50 ? "<li class=\"muted\">… and \(report.failures.count - 50) more</li>" : "") + "</ul>"
    }

    /// The data directory's disk, for the low-disk warning: below the purge threshold, or below
    /// 1 GiB when artifacts are never purged.
    struct DiskWatch: Sendable {
        var dataDirectory: String?
        var purgeStartBytes: Int64

        var warning: String? {
            guard let dataDirectory, let free = ArtifactRetention.freeSpace(of: dataDirectory) else { return nil }
            let threshold = purgeStartBytes > 0 ? purgeStartBytes : 1 << 30
            guard free < threshold else { return nil }
            return "Low disk: \(free >> 20) MiB free in the data directory (\(dataDirectory)). "
                + (purgeStartBytes > 0 ? "The oldest artifacts that may go are being purged."
                                       : "Artifacts are never purged: set artifact_purge_start_mb, or free some space.")
        }
    }

    func register(on router: Router<RelevoRequestContext>) {
        router.get("/") { request, _ in
            await page(request, title: "Pipelines", active: "Pipelines") { try await pipelines() }
        }
        router.get("/pipelines/:name") { request, context in
            await page(request, title: "History", active: "Pipelines") {
                let name = try context.parameters.require("name")
                let page = request.uri.queryParameters["page"].flatMap { Int(String($0)) } ?? 1
                return try await history(name, page: max(1, page))
            }
        }
        router.get("/pipelines/:name/:counter") { request, context in
            await page(request, title: "Instance", active: "Pipelines") {
                let name = try context.parameters.require("name")
                let counter = try APIRoutes.positive(context.parameters.require("counter"), "counter")
                return try await instance(name, counter)
            }
        }
        router.get("/jobs/:name/:counter/:stage/:stageCounter/:job") { request, context in
            let name = (try? context.parameters.require("name")) ?? ""
            let counter = (try? APIRoutes.positive(context.parameters.require("counter"), "counter")) ?? 0
            let stage = (try? context.parameters.require("stage")) ?? ""
            let stageCounter = (try? APIRoutes.positive(context.parameters.require("stageCounter"), "stage counter")) ?? 0
            let job = (try? context.parameters.require("job")) ?? ""
            let runIndex = request.uri.queryParameters["run_index"].flatMap { Int(String($0)) } ?? 1
            let stream = "/go/api/jobs/\(ArtifactLocator.encode(name))/\(counter)/\(ArtifactLocator.encode(stage))/\(stageCounter)/\(ArtifactLocator.encode(job))/console/stream?run_index=\(runIndex)"
            // The console arrives as server-sent events, each line as soon as it is stored.
            let extra = """
                <h2>Console</h2><pre class="console" id="console" data-stream="\(HTML.escape(stream))"></pre>
                <script>
                (() => {
                  const pre = document.getElementById('console');
                  const source = new EventSource(pre.dataset.stream);
                  source.onmessage = (event) => {
                    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
                    pre.textContent += JSON.parse(event.data).text;
                    if (atBottom) pre.scrollTop = pre.scrollHeight;
                  };
                  source.addEventListener('attempt', () => { pre.textContent = ''; });
                  source.addEventListener('end', () => { source.close(); pre.dataset.ended = 'true'; });
                })();
                </script>
                """
            return await page(request, title: "\(job) · \(name)/\(counter)", active: "Pipelines", extra: extra) {
                try await jobView(name, counter, stage, stageCounter, job, runIndex: runIndex)
            }
        }
        router.get("/agents") { request, _ in
            await page(request, title: "Agents", active: "Agents") { try await agents() }
        }
        router.get("/queues") { request, _ in
            await page(request, title: "Queues", active: "Queues") { await queues() }
        }
        router.get("/login") { _, _ in
            Self.html(HTML.page(title: "Sign in", active: "", content: Self.loginForm(message: nil), refresh: nil))
        }
        router.post("/login") { request, _ in
            let body = (try? await request.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
            let token = body.split(separator: "&").compactMap { pair -> String? in
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0] == "token" else { return nil }
                return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }.first ?? ""
            guard tokens == nil || tokens?.user(for: token) != nil else {
                return Self.html(HTML.page(title: "Sign in", active: "", content: Self.loginForm(message: "That token is not valid."), refresh: nil),
                                 status: .unauthorized)
            }
            var headers = HTTPFields()
            headers[.location] = "/"
            // The cookie names a session that expires with it; the token stays on the server.
            headers[.setCookie] = "\(AuthMiddleware.cookie)=\(sessions.begin(token: token)); Path=/; Max-Age=\(Int(sessions.lifetime)); "
                + "HttpOnly; SameSite=Strict\(secureCookies ? "; Secure" : "")"
            return Response(status: .seeOther, headers: headers)
        }
        router.post("/logout") { request, _ in
            if let id = AuthMiddleware.sessionID(of: request) { sessions.end(id) }
            var headers = HTTPFields()
            headers[.location] = "/login"
            headers[.setCookie] = "\(AuthMiddleware.cookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict\(secureCookies ? "; Secure" : "")"
            return Response(status: .seeOther, headers: headers)
        }
    }

    // MARK: Views

    private func pipelines() async throws -> String {
        let config = await engine.config
        let pauses = try await engine.queries.pauses()
        var html = "<h1>Pipelines</h1>"
        if let warning = disk.warning { html += "<p class=\"warning\" data-disk-low>\(HTML.escape(warning))</p>" }
        if !config.errors.isEmpty {
            // A broken file keeps its pipelines' last good definitions running: say why.
            html += "<div class=\"warning\" data-config-errors><b>Config errors</b> (the pipelines they name keep their last good definition):<ul>"
                + config.errors.map { "<li class=\"mono\">\(HTML.escape($0.description))</li>" }.joined() + "</ul></div>"
        }
        if config.pipelines.isEmpty { html += "<p class=\"muted\">No pipeline is configured yet.</p>" }
        let groups = Dictionary(grouping: config.pipelines, by: \.group)
        for group in groups.keys.sorted() {
            html += "<h2>\(HTML.escape(group))</h2>"
            for pipeline in groups[group]!.sorted(by: { ($0.displayOrder, $0.name) < ($1.displayOrder, $1.name) }) {
                let name = HTML.segment(pipeline.name)
                let paused = pauses[pipeline.name.lowercased()]
                html += "<div class=\"pipeline\" data-pipeline=\"\(HTML.escape(pipeline.name))\"><div class=\"head\">"
                html += "<a class=\"name\" href=\"/pipelines/\(name)\" title=\"history\">\(HTML.escape(pipeline.name))</a>"
                if let paused {
                    html += "<span class=\"paused\">paused by \(HTML.escape(paused.pausedBy))\(paused.reason.isEmpty ? "" : ": " + HTML.escape(paused.reason))</span>"
                    html += "<button data-post=\"/go/api/pipelines/\(name)/unpause\">Unpause</button>"
                } else {
                    html += "<button class=\"trigger\" data-post=\"/go/api/pipelines/\(name)/schedule\">Trigger</button>"
                    let declared = pipeline.environmentVariables.filter { !$0.secure }.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
                    html += "<button class=\"trigger-options\" data-post=\"/go/api/pipelines/\(name)/schedule\" data-variables=\"\(HTML.escape(declared))\" title=\"Trigger \(HTML.escape(pipeline.name)) with variables: NAME=VALUE, comma-separated (the pipeline's own are shown)\">Trigger with options</button>"
                    html += "<button data-post=\"/go/api/pipelines/\(name)/pause\">Pause</button>"
                }
                html += "</div>"
                let runs = try await engine.queries.history(of: pipeline.name, limit: 5).runs
                if runs.isEmpty { html += "<div class=\"instance muted\">never run</div>" }
                for run in runs { html += instanceRow(run, definition: pipeline) }
                html += "</div>"
            }
        }
        return html
    }

    /// One instance as a row of stage bars, with the play button of a stage that waits.
    func instanceRow(_ run: PipelineRun, definition: PipelineDefinition?) -> String {
        let name = HTML.segment(run.pipelineName)
        var html = "<div class=\"instance\" data-counter=\"\(run.counter)\" data-state=\"\(run.state.rawValue)\">"
        html += "<a class=\"label\" href=\"/pipelines/\(name)/\(run.counter)\">\(HTML.escape(run.label))</a>"
        html += stageBars(run, definition: definition)
        html += "<span class=\"muted when\" title=\"\(HTML.time(run.createdAt))\">\(HTML.ago(run.createdAt)) · \(HTML.duration(from: run.createdAt, to: run.completedAt))</span>"
        html += "</div>"
        return html
    }

    func stageBars(_ run: PipelineRun, definition: PipelineDefinition?) -> String {
        let name = HTML.segment(run.pipelineName)
        var html = "<div class=\"stages\">"
        let order = definition?.stages.map(\.name) ?? []
        var names = order.filter { stage in run.stages.contains { $0.name == stage } }
        for stage in run.stages where !names.contains(stage.name) { names.append(stage.name) }
        for stageName in names {
            guard let stage = run.stages.filter({ $0.name == stageName }).max(by: { $0.counter < $1.counter }) else { continue }
            let state = stage.state.rawValue
            html += "<a class=\"stage \(state)\" data-stage=\"\(HTML.escape(stage.name))\" data-state=\"\(state)\" title=\"\(HTML.escape(stage.name)): \(state)\" href=\"/pipelines/\(name)/\(run.counter)\">\(HTML.escape(stage.name))</a>"
            if stage.state == .awaitingApproval {
                html += "<button class=\"play\" data-stage=\"\(HTML.escape(stage.name))\" data-post=\"/go/api/stages/\(name)/\(run.counter)/\(HTML.segment(stage.name))/run\" title=\"Run \(HTML.escape(stage.name))\">▶ \(HTML.escape(stage.name))</button>"
            } else if stage.state.isCompleted, !run.stages.contains(where: { $0.state == .building }) {
                html += "<button class=\"rerun\" data-stage=\"\(HTML.escape(stage.name))\" data-post=\"/go/api/stages/\(name)/\(run.counter)/\(HTML.segment(stage.name))/\(stage.counter)/rerun\" title=\"Run \(HTML.escape(stage.name)) again\">↻</button>"
            }
        }
        return html + "</div>"
    }

    private func instance(_ pipeline: String, _ counter: Int) async throws -> String {
        guard let run = try await engine.queries.pipelineRun(pipeline, counter: counter) else {
            throw APIError(.notFound, "no instance \(pipeline)/\(counter)")
        }
        let config = await engine.config
        let definition = config.pipeline(named: pipeline)
        let name = HTML.segment(pipeline)
        var html = "<h1><a href=\"/\">Pipelines</a> / \(HTML.escape(pipeline)) / \(HTML.escape(run.label))</h1>"
        html += "<p>State <b data-run-state=\"\(run.state.rawValue)\">\(run.state.rawValue)</b> · triggered by \(HTML.escape(Self.cause(run.cause))) · "
            + "<span title=\"\(HTML.time(run.createdAt))\">\(HTML.ago(run.createdAt))</span> · took \(HTML.duration(from: run.createdAt, to: run.completedAt))</p>"
        // Agents by name, as GoCD shows them (the UUID in the title).
        let agentNames = Dictionary((try await engine.queries.agents()).map { ($0.uuid, $0.name) }, uniquingKeysWith: { first, _ in first })
        html += stageBars(run, definition: definition)

        html += "<h2>Materials</h2><table><tr><th>Material</th><th>Revision</th><th>Author</th><th>Message</th></tr>"
        for (material, revision) in run.materialRevisions.sorted(by: { $0.key < $1.key }) {
            if let pin = DependencyPin(revision: revision) {
                html += "<tr><td>\(HTML.escape(material)) (upstream)</td><td><a href=\"/pipelines/\(HTML.segment(pin.pipeline))/\(pin.counter)\">\(HTML.escape(revision))</a></td><td></td><td></td></tr>"
            } else {
                let git = definition?.gitMaterials.first { $0.name == material }
                let commit: CommitInfo? = if let git { await engine.commitInfo(url: git.url, revision: revision) } else { nil }
                html += "<tr><td>\(HTML.escape(material))<div class=\"muted mono\">\(HTML.escape(GitURL.redacted(git?.url ?? "")))</div></td>"
                html += "<td class=\"mono\">\(HTML.escape(String(revision.prefix(12))))</td>"
                html += "<td>\(HTML.escape(commit?.author ?? ""))</td><td>\(Self.linked(commit?.subject ?? "", definition?.trackingTool))</td></tr>"
            }
        }
        html += "</table>"

        html += "<h2>Value stream</h2>" + (try await valueStream(run, config: config))

        let building = run.stages.contains { $0.state == .building }
        for stage in run.stages {
            let stagePath = "/go/api/stages/\(name)/\(run.counter)/\(HTML.segment(stage.name))"
            html += "<h2 data-stage-run=\"\(HTML.escape(stage.name))/\(stage.counter)\">Stage \(HTML.escape(stage.name)) · run \(stage.counter)"
            if let rerunOf = stage.rerunOfCounter { html += " (re-run of \(rerunOf))" }
            html += " · \(stage.state.rawValue)"
            if stage.state == .building {
                html += " <button class=\"cancel\" data-post=\"\(stagePath)/\(stage.counter)/cancel\" data-confirm=\"Cancel stage \(HTML.escape(stage.name)) of \(HTML.escape(run.pipelineName)) \(run.counter)?\">■ Cancel stage</button>"
            }
            if stage.state.isCompleted, !building {
                html += " <button class=\"rerun\" data-post=\"\(stagePath)/\(stage.counter)/rerun\">↻ Re-run stage</button>"
                if stage.state != .passed {
                    html += " <button class=\"rerun-failed\" data-post=\"\(stagePath)/\(stage.counter)/run-failed-jobs\">↻ Re-run failed jobs</button>"
                }
            }
            html += "</h2>"
            let earlier = run.stageRuns(named: stage.name).filter { $0.counter != stage.counter }
            if !earlier.isEmpty {
                html += "<p class=\"muted\">Earlier runs: " + earlier.map { "run \($0.counter) \($0.state.rawValue)" }.joined(separator: " · ") + "</p>"
            }
            if stage.jobs.isEmpty { html += "<p class=\"muted\">\(stage.state == .awaitingApproval ? "waits for approval" : "not started")</p>"; continue }
            html += "<table><tr><th>Job</th><th>State</th><th>Result</th><th>Agent</th><th>Attempt</th><th>Duration</th><th>Tests</th><th>Completed</th></tr>"
            var failing = ""
            for job in stage.jobs {
                let jobName = job.runCount > 1 ? "\(job.name) [\(job.runIndex)/\(job.runCount)]" : job.name
                let ranIn = job.originalStageCounter ?? stage.counter
                let link = "/jobs/\(name)/\(run.counter)/\(HTML.segment(stage.name))/\(ranIn)/\(HTML.segment(job.name))?run_index=\(job.runIndex)"
                let copy = job.originalStageCounter.map { " <span class=\"muted\">(copied from run \($0))</span>" } ?? ""
                html += "<tr><td><a href=\"\(link)\">\(HTML.escape(jobName))</a>\(copy)</td><td><span class=\"stage \(job.state.rawValue)\">\(job.state.rawValue)</span></td>"
                html += "<td>\(job.result.rawValue)</td><td title=\"\(HTML.escape(job.agentID ?? ""))\">\(HTML.escape(job.agentID.map { agentNames[$0] ?? String($0.prefix(8)) } ?? ""))</td><td>\(job.attempt)\(job.abandoned.isEmpty ? "" : " <span class=\"muted\" title=\"\(HTML.escape(job.abandoned.map { "attempt \($0.attempt): \($0.reason)" }.joined(separator: "; ")))\">(\(job.abandoned.count) abandoned)</span>")</td><td>\(HTML.duration(from: job.startedAt, to: job.completedAt))</td>"
                let report = testReport(run, stage, job, config: config)
                html += "<td data-tests=\"\(report.map { "\($0.passed)/\($0.failed)/\($0.skipped)" } ?? "")\">\(HTML.escape(report?.summary ?? "—"))</td>"
                html += "<td title=\"\(HTML.time(job.completedAt))\">\(HTML.ago(job.completedAt))</td></tr>"
                if let report, !report.failures.isEmpty { failing += Self.failureList(report) }
            }
            html += "</table>"
            if !failing.isEmpty { html += "<p><b>Failing tests</b></p>" + failing }
        }
        return html
    }

    /// Upstream instances (through the dependency pins, two levels up) → this one → the
    /// instances that pinned it downstream.
    /// A store that cannot be read fails the page (an error, not an empty stream).
    private func valueStream(_ run: PipelineRun, config: ConfigSnapshot) async throws -> String {
        var upstream: [PipelineRun] = []
        var frontier = [run]
        for _ in 0..<2 {
            var next: [PipelineRun] = []
            for current in frontier {
                for pin in current.materialRevisions.values.compactMap(DependencyPin.init(revision:)) {
                    if let found = try await engine.queries.pipelineRun(pin.pipeline, counter: pin.counter) { next.append(found) }
                }
            }
            upstream = next + upstream
            frontier = next
        }
        var downstream: [PipelineRun] = []
        let prefix = "\(run.pipelineName)/\(run.counter)/"
        for pipeline in config.pipelines where pipeline.dependencyMaterials.contains(where: { $0.pipeline.lowercased() == run.pipelineName.lowercased() }) {
            let runs = try await engine.queries.history(of: pipeline.name, limit: 20).runs
            downstream += runs.filter { $0.materialRevisions.values.contains { $0.hasPrefix(prefix) } }
        }
        func node(_ run: PipelineRun, own: Bool) -> String {
            "<div class=\"node\(own ? " self" : "")\"><a href=\"/pipelines/\(HTML.segment(run.pipelineName))/\(run.counter)\">\(HTML.escape(run.pipelineName)) \(HTML.escape(run.label))</a>\(stageBars(run, definition: config.pipeline(named: run.pipelineName)))</div>"
        }
        var html = "<div class=\"vsm\">"
        if !upstream.isEmpty { html += "<div class=\"column upstream\">\(upstream.map { node($0, own: false) }.joined())</div><span class=\"arrow\">→</span>" }
        html += "<div class=\"column\">\(node(run, own: true))</div>"
        if !downstream.isEmpty { html += "<span class=\"arrow\">→</span><div class=\"column downstream\">\(downstream.map { node($0, own: false) }.joined())</div>" }
        return html + "</div>"
    }

    private func jobView(_ pipeline: String, _ counter: Int, _ stageName: String, _ stageCounter: Int, _ jobName: String, runIndex: Int) async throws -> String {
        guard let run = try await engine.queries.pipelineRun(pipeline, counter: counter),
              let stage = run.stageRun(named: stageName, counter: stageCounter),
              let job = stage.jobs.first(where: { $0.name == jobName && $0.runIndex == runIndex }) else {
            throw APIError(.notFound, "no job \(pipeline)/\(counter)/\(stageName)/\(stageCounter)/\(jobName)")
        }
        var html = "<h1><a href=\"/\">Pipelines</a> / <a href=\"/pipelines/\(HTML.segment(pipeline))/\(counter)\">\(HTML.escape(pipeline)) \(HTML.escape(run.label))</a> / \(HTML.escape(stageName)) / \(HTML.escape(jobName))</h1>"
        html += "<p data-job-state=\"\(job.state.rawValue)\">State <span class=\"stage \(job.state.rawValue)\">\(job.state.rawValue)</span> · result <b>\(job.result.rawValue)</b>"
        var agentName: String?
        if let uuid = job.agentID { agentName = try await engine.queries.agents().first { $0.uuid == uuid }?.name }
        html += " · agent \(HTML.escape(agentName ?? "—")) <span class=\"mono muted\">\(HTML.escape(job.agentID ?? ""))</span> · attempt \(job.attempt)"
        html += " · scheduled \(HTML.time(job.scheduledAt)) · started \(HTML.time(job.startedAt)) · completed \(HTML.time(job.completedAt))"
        html += " · took \(HTML.duration(from: job.startedAt, to: job.completedAt))</p>"
        if !job.abandoned.isEmpty {
            html += "<h2>Abandoned attempts</h2><ul>"
            for given in job.abandoned {
                html += "<li>attempt \(given.attempt) on <span class=\"mono\">\(HTML.escape(String((given.agentID ?? "—").prefix(8))))</span> at \(HTML.time(given.at)): \(HTML.escape(given.reason))</li>"
            }
            html += "</ul>"
        }
        let locator = ArtifactLocator(pipeline: pipeline, pipelineCounter: counter, stage: stageName, stageCounter: stageCounter,
                                      job: ArtifactLocator.jobName(jobName, runIndex: job.runIndex, runCount: job.runCount))
        let entries = (try? artifacts.entries(of: locator)) ?? []
        let config = await engine.config
        if let report = testReport(run, stage, job, config: config) {
            html += "<h2>Tests</h2><p data-test-summary>\(HTML.escape(report.summary)) <span class=\"muted\">(\(report.total) in "
                + "\(report.files.count) report\(report.files.count == 1 ? "" : "s"))</span></p>" + Self.failureList(report)
        }
        if let note = ArtifactRetention.purgeNote(root: artifacts.root, pipeline: pipeline, counter: counter, stage: stageName, stageCounter: stageCounter) {
            html += "<p class=\"warning\" data-artifacts-purged>Artifacts \(HTML.escape(note))</p>"
        }
        let tabs = await engine.config.pipeline(named: pipeline)?.stage(named: stageName)?.job(named: jobName)?.tabs ?? []
        if !tabs.isEmpty {
            // GoCD's custom tabs, as links to the artifacts they name (served sandboxed, as every artifact).
            html += "<h2>Tabs</h2><p class=\"tabs\">" + tabs.map { tab in
                let href = "/go/files/" + (locator.components + tab.path.split(separator: "/").map(String.init)).map(HTML.segment).joined(separator: "/")
                return "<a class=\"tab\" data-tab=\"\(HTML.escape(tab.name))\" href=\"\(href)\">\(HTML.escape(tab.name))</a>"
            }.joined(separator: " · ") + "</p>"
        }
        html += "<h2>Artifacts</h2>"
        if entries.isEmpty { html += "<p class=\"muted\">none</p>" } else {
            html += "<ul class=\"artifacts\">"
            func list(_ entries: [ArtifactStore.Entry]) {
                for entry in entries {
                    if entry.isFolder {
                        html += "<li>\(HTML.escape(entry.name))/<ul>"
                        list(entry.children)
                        html += "</ul></li>"
                    } else {
                        let href = "/go/files/" + (locator.components + entry.path.segments).map(HTML.segment).joined(separator: "/")
                        html += "<li><a href=\"\(href)\">\(HTML.escape(entry.name))</a> <span class=\"muted\">\(entry.size) bytes</span></li>"
                    }
                }
            }
            list(entries)
            html += "</ul>"
        }
        return html
    }

    private func agents() async throws -> String {
        let agents = try await engine.queries.agents()
        var html = "<h1>Agents</h1><table><tr><th>Name</th><th>State</th><th>Resources</th><th>Environments</th><th>Current job</th><th>Last heartbeat</th><th></th></tr>"
        for agent in agents {
            html += "<tr data-agent=\"\(HTML.escape(agent.name))\"><td>\(HTML.escape(agent.name))<div class=\"muted mono\">\(HTML.escape(agent.uuid))</div></td>"
            html += "<td><span class=\"stage \(agent.state == .idle ? "passed" : agent.state == .building ? "building" : "cancelled")\">\(agent.state.rawValue)</span></td>"
            let path = "/go/api/agents/\(HTML.segment(agent.uuid))"
            for (field, own, configured) in [("resources", agent.resources, agent.configuredResources),
                                             ("environments", agent.environments, agent.configuredEnvironments)] {
                let shown = (configured ?? own).joined(separator: ", ")
                let note = configured != nil ? " <span class=\"muted\" title=\"its own: \(HTML.escape(own.joined(separator: ", ")))\">(set here)</span>" : ""
                html += "<td data-\(field)=\"\(HTML.escape(shown))\">\(HTML.escape(shown))\(note) <button class=\"edit\" data-method=\"PATCH\" data-post=\"\(path)\" data-prompt=\"\(field)\" data-value=\"\(HTML.escape(shown))\" title=\"\(field.capitalized) of \(HTML.escape(agent.name)), comma-separated\">✎</button></td>"
            }
            html += "<td class=\"mono\">\(HTML.escape(agent.currentJob ?? ""))</td><td>\(HTML.time(agent.lastHeartbeatAt))</td>"
            let enable = agent.state == .disabled || agent.state == .pending
            let label = agent.state == .pending ? "Approve" : enable ? "Enable" : "Disable"
            html += "<td><button data-method=\"PATCH\" data-post=\"\(path)\" data-body='{\"agent_config_state\": \"\(enable ? "Enabled" : "Disabled")\"}'>\(label)</button></td></tr>"
        }
        return html + "</table>"
    }

    private func queues() async -> String {
        let queues = await engine.queueStatuses()
        var html = "<h1>Queues</h1><p class=\"muted\">Read from the broker now. A <code>relevo.serial.*</code> queue hands its jobs to one consumer at a time (single active consumer); the others wait.</p>"
        let managed = queues.contains { $0.unacknowledged != nil }
        if !managed {
            html += "<p class=\"muted\">Without the broker's management API (<code>broker_management_url</code>) the broker tells only ready messages, and for a serial queue counts only its active consumer.</p>"
        }
        html += "<table><tr><th>Queue</th><th>Ready</th><th>Unacked</th><th>Consumers</th><th>Active consumer</th><th>Leader</th><th>Members online</th></tr>"
        for queue in queues {
            let unacked = queue.unacknowledged.map(String.init) ?? "—"
            let active = queue.singleActiveConsumer ? HTML.escape(Self.workerName(queue.activeConsumer) ?? (managed ? "none" : "?")) : "<span class=\"muted\">every consumer</span>"
            html += "<tr data-queue=\"\(HTML.escape(queue.name))\"><td class=\"mono\">\(HTML.escape(queue.name))</td><td>\(queue.ready)</td><td>\(unacked)</td><td>\(queue.consumers)</td><td data-active=\"\(HTML.escape(queue.activeConsumer ?? ""))\">\(active)</td>"
            // Replicas of a quorum queue: an offline member is named, so a lost node shows here.
            let offline = queue.members.filter { !queue.online.contains($0) }
            let replicas = queue.members.isEmpty ? "—" : "\(queue.online.count)/\(queue.members.count)" + (offline.isEmpty ? "" : " <span class=\"failed\">(\(HTML.escape(offline.joined(separator: ", "))) offline)</span>")
            html += "<td class=\"mono\" data-leader=\"\(HTML.escape(queue.leader ?? ""))\">\(HTML.escape(queue.leader ?? "—"))</td><td data-members=\"\(HTML.escape(queue.members.joined(separator: " ")))\" title=\"\(HTML.escape(queue.members.joined(separator: ", ")))\">\(replicas)</td></tr>"
        }
        html += "</table>"
        // Dead letters are never silent: the newest, with why and what the scheduler did.
        html += "<h2>Dead letters</h2>"
        do {
            let letters = try await engine.queries.deadLetters(limit: 20)
            if letters.isEmpty {
                html += "<p class=\"muted\">none: no message has been dead-lettered</p>"
            } else {
                html += "<p class=\"muted\">The newest 20 messages read from <code>relevo.dead</code> (all: <code>GET /go/api/dead_letters</code>).</p>"
                html += "<table class=\"dead-letters\"><tr><th>Received</th><th>Kind</th><th>From</th><th>Why</th><th>What the scheduler did</th></tr>"
                for record in letters {
                    html += "<tr><td>\(HTML.time(record.receivedAt))</td><td>\(record.letter.kind.rawValue)</td><td class=\"mono\">\(HTML.escape(record.letter.originalQueue))</td>"
                    html += "<td>\(HTML.escape(record.letter.reason))</td><td>\(HTML.escape(record.outcome))</td></tr>"
                }
                html += "</table>"
            }
        } catch {
            html += "<p class=\"muted\">dead letters unavailable: \(HTML.escape("\(error)"))</p>"
        }
        return html
    }

    /// `linux-1` from the connection name `relevo-worker linux-1 (consume)`; other names as they are.
    static func workerName(_ connection: String?) -> String? {
        guard let connection else { return nil }
        guard connection.hasPrefix("relevo-worker "), connection.hasSuffix(" (consume)") else { return connection }
        return String(connection.dropFirst("relevo-worker ".count).dropLast(" (consume)".count))
    }

    // MARK: Plumbing

    func page(_ request: Request, title: String, active: String, extra: String = "",
                      _ view: () async throws -> String) async -> Response {
        let fragment = request.uri.queryParameters["fragment"] != nil
        do {
            let content = try await view()
            return Self.html(fragment ? content : HTML.page(title: title, active: active, content: content, extra: extra,
                                                                   signOut: tokens != nil))
        } catch let error as APIError {
            let content = "<h1>\(error.status.code)</h1><p>\(HTML.escape(error.message))</p>"
            return Self.html(fragment ? content : HTML.page(title: title, active: active, content: content, refresh: nil,
                                                                   signOut: tokens != nil), status: error.status)
        } catch {
            logger.error("dashboard page failed", metadata: ["error": "\(error)"])
            return Self.html("<p>\(HTML.escape("\(error)"))</p>", status: .internalServerError)
        }
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func loginForm(message: String?) -> String {
        """
        <h1>Sign in</h1>\(message.map { "<p class=\"paused\">\(HTML.escape($0))</p>" } ?? "")
        <form method="post" action="/login"><label>API token <input type="password" name="token" autofocus></label> <button type="submit">Sign in</button></form>
        """
    }

    /// `text` escaped, with the tracking tool's references as links (GoCD's tracking_tool).
    static func linked(_ text: String, _ tool: TrackingTool?) -> String {
        guard let tool else { return HTML.escape(text) }
        return tool.segments(of: text).map { segment in
            guard let url = segment.url, url.hasPrefix("http://") || url.hasPrefix("https://") else { return HTML.escape(segment.text) }
            return "<a class=\"tracking\" href=\"\(HTML.escape(url))\" rel=\"noopener noreferrer\">\(HTML.escape(segment.text))</a>"
        }.joined()
    }

    static func cause(_ cause: TriggerCause) -> String {
        switch cause {
        case .manual(let user): user
        case .materialChange: "a material change"
        case .upstream(let pipeline, let counter, let stage): "\(pipeline)/\(counter)/\(stage)"
        }
    }
}
