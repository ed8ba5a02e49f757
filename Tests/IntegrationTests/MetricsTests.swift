import Foundation
import Testing

/// `/metrics` in Prometheus' text format, from a real scheduler, broker and worker.
@Suite(.serialized, .timeLimit(.minutes(2))) struct MetricsTests {
    @Test func metricsCountJobsLatencyQueuesAndAgents() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "metrics\n"])
            try cluster.writeConfig("counted.gocd.yaml", """
            format_version: 10
            pipelines:
              counted:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - build:
                      jobs:
                        good: {tasks: [{exec: {command: /bin/true}}]}
                        bad: {tasks: [{exec: {command: /bin/false}}]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w1", slots: 2))
            _ = try await cluster.api.trigger("counted")
            try await cluster.api.waitFor("counted", 1, states: ["failed"])
            // The broker's management API (when the tests' broker has it) collects its statistics
            // every second: the worker's consumer may show a moment later.
            try await eventually(15, "the worker's consumer to show in /metrics") {
                try await cluster.api.get("/metrics").text.contains(#"relevo_queue_consumers{queue="relevo.jobs.default.any"} 1"#)
            }
            let reply = try await cluster.api.get("/metrics")
            #expect(reply.status == 200)
            let lines = Set(reply.text.split(separator: "\n").map(String.init))
            for expected in [
                "# TYPE relevo_jobs_completed_total counter",
                #"relevo_jobs_completed_total{result="passed"} 1"#,
                #"relevo_jobs_completed_total{result="failed"} 1"#,
                #"relevo_jobs{state="building"} 0"#,
                "relevo_jobs_scheduled_total 2",
                "# TYPE relevo_dispatch_latency_seconds histogram",
                #"relevo_dispatch_latency_seconds_bucket{le="+Inf"} 2"#,
                "relevo_dispatch_latency_seconds_count 2",
                #"relevo_queue_consumers{queue="relevo.jobs.default.any"} 1"#,
                #"relevo_queue_messages{queue="relevo.jobs.default.any"} 0"#,
                #"relevo_queue_consumers{queue="relevo.scheduler.events"} 1"#,
            ] {
                #expect(lines.contains(expected), "missing '\(expected)' in:\n\(reply.text)")
            }
            #expect(lines.contains { $0.hasPrefix(#"relevo_agents{state="idle"} "#) || $0.hasPrefix(#"relevo_agents{state="building"} "#) })
        }
    }
}
