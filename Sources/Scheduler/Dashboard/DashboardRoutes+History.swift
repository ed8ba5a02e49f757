import Foundation
import HTTPTypes
import Shared

/// A pipeline's history page: every instance, twenty a page, newest first, under a chart of how
/// long each stage took in the latest thirty instances and how each ended.
extension DashboardRoutes {
    static let historyPageSize = 20

    func history(_ pipeline: String, page: Int) async throws -> String {
        let config = await engine.config
        guard let definition = config.pipeline(named: pipeline) else { throw APIError(.notFound, "no pipeline named '\(pipeline)'") }
        let recent = try await engine.queries.history(of: pipeline, limit: 30).runs
        let listed = try await engine.queries.history(of: pipeline, limit: Self.historyPageSize, offset: (page - 1) * Self.historyPageSize)
        let name = HTML.segment(pipeline)
        var html = "<h1><a href=\"/\">Pipelines</a> / \(HTML.escape(pipeline))</h1>"
        html += "<p class=\"muted\">\(listed.total) instance\(listed.total == 1 ? "" : "s") · group \(HTML.escape(definition.group))</p>"
        if !recent.isEmpty {
            html += "<h2>Stage durations</h2><div class=\"charts\" data-trend-chart>"
            for stage in definition.stages {
                html += TrendChart.svg(stage: stage.name, runs: Array(recent.reversed()))
            }
            html += "</div>"
        }
        html += "<h2>Instances</h2>"
        if listed.runs.isEmpty { html += "<p class=\"muted\">\(page == 1 ? "never run" : "no instance on this page")</p>" }
        for run in listed.runs { html += instanceRow(run, definition: definition) }
        let pages = max(1, (listed.total + Self.historyPageSize - 1) / Self.historyPageSize)
        var links: [String] = []
        if page > 1 { links.append("<a href=\"/pipelines/\(name)?page=\(page - 1)\" data-page-newer>← newer</a>") }
        links.append("page \(page) of \(pages)")
        if page < pages { links.append("<a href=\"/pipelines/\(name)?page=\(page + 1)\" data-page-older>older →</a>") }
        html += "<p class=\"paging\">" + links.joined(separator: " · ") + "</p>"
        return html
    }
}

/// A stage's durations over instances as an SVG bar chart, drawn by the server: one bar per
/// instance (height: how long the stage took; colour: how it ended), oldest on the left.
enum TrendChart {
    static let width = 600
    static let height = 120

    /// How long stage run `stage` of `run` took (its first job scheduled to its last job
    /// completed), and its state; nil if the instance did not reach it.
    static func duration(of stage: String, in run: PipelineRun, now: Date = Date()) -> (seconds: Double, state: String)? {
        guard let stageRun = run.stages.filter({ $0.name == stage }).max(by: { $0.counter < $1.counter }), !stageRun.jobs.isEmpty else { return nil }
        let start = stageRun.jobs.map(\.scheduledAt).min() ?? stageRun.createdAt
        let end = stageRun.jobs.allSatisfy({ $0.completedAt != nil }) ? stageRun.jobs.compactMap(\.completedAt).max() ?? now : now
        return (max(0, end.timeIntervalSince(start)), stageRun.state.rawValue)
    }

    static func svg(stage: String, runs: [PipelineRun]) -> String {
        let bars = runs.map { (counter: $0.counter, label: $0.label, value: duration(of: stage, in: $0)) }
        let longest = max(1, bars.compactMap { $0.value?.seconds }.max() ?? 1)
        let slot = Double(width - 40) / Double(max(bars.count, 1))
        var svg = "<figure class=\"chart\"><figcaption>\(HTML.escape(stage)) <span class=\"muted\">(longest \(Self.format(longest)))</span></figcaption>"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height + 20)\" role=\"img\" aria-label=\"\(HTML.escape(stage)) durations\">"
        svg += "<line x1=\"30\" y1=\"\(height)\" x2=\"\(width)\" y2=\"\(height)\" stroke=\"#999\"/>"
        for (index, bar) in bars.enumerated() {
            let x = 34 + Double(index) * slot
            guard let value = bar.value else {
                svg += "<text x=\"\(Int(x))\" y=\"\(height - 2)\" font-size=\"9\" fill=\"#999\">–</text>"
                continue
            }
            let barHeight = max(2, value.seconds / longest * Double(height - 10))
            let colour = ["passed": "#2e9d56", "failed": "#d64545", "cancelled": "#8d99ae"][value.state] ?? "#3b82c4"
            svg += "<rect x=\"\(Int(x))\" y=\"\(Int(Double(height) - barHeight))\" width=\"\(max(2, Int(slot * 0.7)))\" height=\"\(Int(barHeight))\" fill=\"\(colour)\""
            svg += " data-counter=\"\(bar.counter)\" data-state=\"\(value.state)\"><title>\(HTML.escape(bar.label)): \(value.state), \(Self.format(value.seconds))</title></rect>"
        }
        if let first = bars.first, let last = bars.last {
            svg += "<text x=\"34\" y=\"\(height + 14)\" font-size=\"10\" fill=\"#555\">\(HTML.escape(first.label))</text>"
            svg += "<text x=\"\(width - 4)\" y=\"\(height + 14)\" font-size=\"10\" fill=\"#555\" text-anchor=\"end\">\(HTML.escape(last.label))</text>"
        }
        return svg + "</svg></figure>"
    }

    static func format(_ seconds: Double) -> String {
        HTML.duration(from: Date(timeIntervalSince1970: 0), to: Date(timeIntervalSince1970: seconds))
    }
}
