import Foundation
import Hummingbird
import Logging
import NIOCore
import Shared

/// How long jobs waited between being scheduled and their first task starting, as a
/// Prometheus histogram (cumulative buckets, in seconds).
struct LatencyHistogram: Sendable {
    static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    private(set) var buckets = [Int](repeating: 0, count: bounds.count)
    private(set) var count = 0
    private(set) var sum = 0.0

    mutating func observe(_ seconds: Double) {
        for (index, bound) in Self.bounds.enumerated() where seconds <= bound { buckets[index] += 1 }
        count += 1
        sum += seconds
    }
}

/// `GET /metrics`, Prometheus' text format: jobs by state and result, the dispatch latency
/// histogram, each `relevo.*` queue's depth and consumers (asked of the broker), agents by state.
struct MetricsRoutes {
    let engine: SchedulerEngine
    let logger: Logger

    func register(on router: Router<RelevoRequestContext>) {
        router.get("/metrics") { _, _ in
            var text = ""
            func family(_ name: String, _ type: String, _ help: String) {
                text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            }
            let counts = try await engine.queries.jobCounts()
            family("relevo_jobs", "gauge", "Job runs by state (completed ones by result).")
            for state in ["scheduled", "assigned", "building"] {
                text += "relevo_jobs{state=\"\(state)\"} \(counts[state] ?? 0)\n"
            }
            family("relevo_jobs_completed_total", "counter", "Job runs completed, by result.")
            for result in ["passed", "failed", "cancelled"] {
                text += "relevo_jobs_completed_total{result=\"\(result)\"} \(counts["completed/\(result)"] ?? 0)\n"
            }
            family("relevo_jobs_scheduled_total", "counter", "Job runs ever scheduled.")
            text += "relevo_jobs_scheduled_total \(counts.values.reduce(0, +))\n"

            let latency = await engine.dispatchLatency
            family("relevo_dispatch_latency_seconds", "histogram", "From a job being scheduled to its first task starting (since the scheduler started).")
            for (bound, count) in zip(LatencyHistogram.bounds, latency.buckets) {
                text += "relevo_dispatch_latency_seconds_bucket{le=\"\(bound)\"} \(count)\n"
            }
            text += "relevo_dispatch_latency_seconds_bucket{le=\"+Inf\"} \(latency.count)\n"
            text += "relevo_dispatch_latency_seconds_sum \(latency.sum)\n"
            text += "relevo_dispatch_latency_seconds_count \(latency.count)\n"

            let queues = await engine.queueStatuses()
            family("relevo_queue_messages", "gauge", "Messages ready in each relevo queue.")
            for queue in queues { text += "relevo_queue_messages{queue=\"\(queue.name)\"} \(queue.ready)\n" }
            family("relevo_queue_messages_unacknowledged", "gauge", "Messages delivered and not acked yet (from the management API, when configured).")
            for queue in queues {
                if let unacked = queue.unacknowledged { text += "relevo_queue_messages_unacknowledged{queue=\"\(queue.name)\"} \(unacked)\n" }
            }
            family("relevo_queue_consumers", "gauge", "Consumers of each relevo queue (without the management API: the active one only, for single-active-consumer queues).")
            for queue in queues { text += "relevo_queue_consumers{queue=\"\(queue.name)\"} \(queue.consumers)\n" }

            let dead = try await engine.queries.deadLetterCounts()
            family("relevo_dead_letters_total", "counter", "Messages read from relevo.dead, by kind (a dead job message's attempt is abandoned and the job dispatched again, or failed after its last attempt).")
            for kind in [DeadLetter.Kind.job, .event, .other] {
                text += "relevo_dead_letters_total{kind=\"\(kind.rawValue)\"} \(dead[kind] ?? 0)\n"
            }

            let agents = try await engine.queries.agents()
            family("relevo_agents", "gauge", "Agents by state.")
            for state in AgentState.allCases {
                text += "relevo_agents{state=\"\(state.rawValue)\"} \(agents.filter { $0.state == state }.count)\n"
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
