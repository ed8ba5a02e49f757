import Foundation
import Shared
import Testing

/// The user's delivery flow with the example shipped in `config/`: nagios checks tested,
/// packaged with the real `rpmbuild`, promoted dev → int → pre → pro (production by the play
/// button), each repository indexed by the real `createrepo_c`, one run at a time per
/// environment through a serial queue.
@Suite(.serialized, .timeLimit(.minutes(6))) struct DeliveryFlowTests {
    /// The shipped pipelines, pointed at this cluster's folders instead of /var/lib/relevo.
    private func installExample(_ cluster: RelevoCluster) async throws {
        let shipped = TestBroker.projectRoot.appendingPathComponent("config/pipelines/delivery.gocd.yaml")
        let text = try String(contentsOf: shipped, encoding: .utf8)
            .replacingOccurrences(of: "/var/lib/relevo/server", with: cluster.root.appendingPathComponent("data").path)
            .replacingOccurrences(of: "/var/lib/relevo", with: cluster.root.path)
        try cluster.writeConfig("delivery.gocd.yaml", text)
        for name in ["check-disk", "check-load"] {
            let source = TestBroker.projectRoot.appendingPathComponent("config/examples/\(name)").path
            let bare = cluster.root.appendingPathComponent("examples/\(name).git").path
            let script = """
                set -e
                work=$(mktemp -d)
                git -C "$work" init -q -b main
                cp -R '\(source)/.' "$work/"
                git -C "$work" add -A
                git -C "$work" -c user.name=Relevo -c user.email=relevo@localhost commit -q -m "Initial import of \(name)"
                mkdir -p "$(dirname '\(bare)')"
                git clone -q --bare "$work" '\(bare)'
                rm -rf "$work"
                """
            let result = try await runProcessAsync(URL(fileURLWithPath: "/bin/sh"), ["-c", script])
            guard result.status == 0 else { throw TestSetupError("cannot create \(bare): \(result.standardError)") }
        }
    }

    @Test func rpmsReachDevThenProOnlyAfterThePlayButtonWithCreaterepoSerialised() async throws {
        try await RelevoCluster.with { cluster in
            try await installExample(cluster)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "linux-1", resources: ["linux", "yum-repo"], slots: 2))
            try await cluster.startWorker(.init(name: "linux-2", resources: ["linux", "yum-repo"], slots: 2))

            // The first material poll starts both checks; each runs up to its manual stage.
            for check in ["check-disk", "check-load"] {
                let run = try await cluster.api.waitFor(check, 1, states: ["awaitingApproval", "failed", "cancelled"], seconds: 180)
                var consoles = ""
                for stage in ["test", "package", "upload_dev"] {
                    let job = stage == "upload_dev" ? "upload" : stage
                    consoles += try await cluster.api.console(check, 1, stage, job)
                }
                #expect(run["state"] as? String == "awaitingApproval", "\(check): \(consoles)")
            }
            // Each upload_<env> stage of each check triggered createrepo-<env>: two runs per
            // environment below pro, none for pro.
            for env in ["dev", "int", "pre"] {
                try await eventually(120, "two passed createrepo-\(env) runs") {
                    let runs = try await cluster.api.history("createrepo-\(env)")
                    return runs.count == 2 && runs.allSatisfy { $0["state"] as? String == "passed" }
                }
            }
            #expect(try await cluster.api.history("createrepo-pro").isEmpty)

            // Runs with one serial key never overlap, and run in the order they were requested.
            let intervals = try await jobIntervals(cluster, "createrepo-dev")
            #expect(intervals.count == 2)
            for (earlier, later) in zip(intervals, intervals.dropFirst()) {
                #expect(later.start >= earlier.end, "createrepo-dev runs overlapped: \(intervals)")
            }
            // One active consumer per serial queue, out of the two workers consuming it.
            let consumers = try await RelevoCluster.brokerControl(["list_consumers", "-p", cluster.virtualHost ?? "/", "queue_name", "active", "--no-table-headers", "--quiet"])
            for env in ["dev", "int", "pre"] {
                let rows = consumers.split(separator: "\n").map { $0.split(whereSeparator: \.isWhitespace).map(String.init) }
                    .filter { $0.first == "relevo.serial.createrepo-\(env)" }
                #expect(rows.count == 2 && rows.filter { $0.last == "true" }.count == 1, "createrepo-\(env): \(consumers)")
            }
            // The queues API says the same, read from the broker's management API (its statistics
            // are collected every second, so they may lag a little).
            if TestBroker.managementURL != nil {
                let workers = ["relevo-worker linux-1 (consume)", "relevo-worker linux-2 (consume)"]
                nonisolated(unsafe) var last: [String: Any] = [:]
                try await eventually(20, "the queues API to show createrepo-dev's consumers") {
                    let queues = try await cluster.api.get("/go/api/queues").json()
                    let list = (queues["_embedded"] as? [String: Any])?["queues"] as? [[String: Any]] ?? []
                    last = list.first { $0["name"] as? String == "relevo.serial.createrepo-dev" } ?? queues
                    // Every createrepo-dev run has passed: nothing unacked once the statistics caught up.
                    return last["consumers"] as? Int == 2 && workers.contains(last["active_consumer"] as? String ?? "")
                        && last["messages_unacknowledged"] as? Int == 0
                }
                #expect(last["single_active_consumer"] as? Bool == true, "\(last)")
                let active = last["active_consumer"] as? String ?? ""
                let page = try await cluster.api.get("/queues").text
                #expect(page.contains("data-active=\"\(active)\""), "\(page)")
            }

            // dev indexes both RPMs; pro has nothing yet.
            let dev = try await primaryMetadata(cluster, env: "dev")
            #expect(dev.contains("<name>check-disk</name>") && dev.contains("<name>check-load</name>"), "\(dev.prefix(2000))")
            let proListing = try await cluster.api.get("/repos/pro/")
            #expect(!proListing.text.contains(".rpm"), "pro must stay empty before the play button: \(proListing.text)")
            #expect(try await cluster.api.get("/repos/pro/repodata/repomd.xml").status == 404)

            // The play button for production.
            let play = try await cluster.api.post("/go/api/stages/check-disk/1/upload_pro/run")
            #expect(play.status == 202, "\(play.text)")
            try await cluster.api.waitFor("check-disk", 1, states: ["passed"], seconds: 120)
            try await cluster.api.waitFor("createrepo-pro", 1, states: ["passed"], seconds: 120)
            let pro = try await primaryMetadata(cluster, env: "pro")
            #expect(pro.contains("<name>check-disk</name>") && !pro.contains("<name>check-load</name>"), "\(pro.prefix(2000))")
            let rpm = try await cluster.api.get("/repos/pro/check-disk-1.0-1.noarch.rpm")
            #expect(rpm.status == 200 && rpm.body.prefix(4) == Data([0xED, 0xAB, 0xEE, 0xDB]), "an RPM file (lead magic)")
        }
    }

    @Test func aWorkerKilledMidCreaterepoHandsTheRunToAnotherWorker() async throws {
        try await RelevoCluster.with { cluster in
            let repository = try GitRepository.create(in: cluster.root)
            try repository.commit(["README": "serial\n"])
            let repo = cluster.root.appendingPathComponent("repo")
            let pidFile = cluster.root.appendingPathComponent("task.pid")
            try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
            try await buildExampleRPM(into: repo, scratch: cluster.root.appendingPathComponent("rpmbuild"))
            try cluster.writeConfig("serial.gocd.yaml", """
            format_version: 10
            pipelines:
              slowrepo:
                materials:
                  src: {git: "\(repository.url)", branch: main, auto_update: false}
                stages:
                  - index:
                      jobs:
                        createrepo:
                          serial: createrepo-dev
                          tasks:
                            - exec: {command: /bin/sh, arguments: ["-c", "echo $$ > \(pidFile.path); echo started on $GO_AGENT_NAME; if [ $RELEVO_JOB_ATTEMPT = 1 ]; then sleep 30; else sleep 1; fi; rm -rf \(repo.path)/.repodata"]}
                            - exec: {command: createrepo_c, arguments: [--update, "\(repo.path)"]}
            """)
            try await cluster.startScheduler()
            try await cluster.startWorker(.init(name: "w-1", slots: 2))
            try await cluster.startWorker(.init(name: "w-2", slots: 2))
            _ = try await cluster.api.trigger("slowrepo")
            var first = ""
            let deadline = ContinuousClock.now + .seconds(60)
            while first.isEmpty, ContinuousClock.now < deadline {
                let console = try await cluster.api.console("slowrepo", 1, "index", "createrepo")
                if let line = console.split(separator: "\n").first(where: { $0.hasPrefix("started on ") }) {
                    first = String(line.dropFirst("started on ".count))
                } else {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            try #require(!first.isEmpty, "the job never started")
            let survivor = first == "w-1" ? "w-2" : "w-1"
            let orphan = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            cluster.workers[first]?.kill()
            // The killed worker's task dies with it (relevo-task-supervisor): it cannot go on
            // writing the repository while the other worker runs the job again.
            try await eventually(5, "the killed worker's task to die") {
                !FileManager.default.fileExists(atPath: "/proc/\(orphan)") || ((try? String(contentsOfFile: "/proc/\(orphan)/stat", encoding: .utf8)) ?? "").contains(") Z ")
            }

            let run = try await cluster.api.waitFor("slowrepo", 1, states: ["passed", "failed", "cancelled"], seconds: 90)
            let console = try await cluster.api.console("slowrepo", 1, "index", "createrepo")
            #expect(run["state"] as? String == "passed", "\(console)")
            let job = try #require(run.jobs(ofStage: "index").first)
            #expect(job["agent_uuid"] as? String == (try await cluster.agentUUID(survivor)), "the run moved to \(survivor)")
            #expect((job["attempt"] as? Int ?? 1) >= 2, "\(job)")
            let metadata = try await primaryMetadata(of: repo)
            #expect(metadata.contains("<name>check-disk</name>"), "the repository is valid afterwards")
        }
    }

    /// The same flow on a fleet (#15): the broker and the scheduler on one test host's address,
    /// each worker on a host (network namespace) of its own, nothing between them on loopback.
    /// Jobs go by resources to the right hosts (linux, windows, yum-repo), the RPMs travel as
    /// artifacts over the network, the serial createrepo job is taken by whichever repository agent
    /// is free and never runs twice at once. The scheduler and the workers log in as Relevo's two
    /// broker users, and the worker's user cannot put a job into a queue.
    @Test func theFlowRunsAcrossTestHostsWithEachRoleOnItsOwnBrokerUser() async throws {
        try await TestHosts.with(name: "fleet", count: 5) { hosts in
            try await PrivateBroker.with(host: hosts.server) { broker in
                let workerURL = try await broker.url(user: "worker")
                try await RelevoCluster.with(privateBrokerURL: try await broker.url(user: "scheduler"), workerBrokerURL: workerURL,
                                             host: hosts.server) { cluster in
                    try await installExample(cluster)
                    try cluster.writeUnfetchedPipeline("win-build", stage: "build", jobs: [
                        ("compile", "resources: [windows]\ntasks:\n  - exec: {command: /bin/sh, arguments: [-c, \"echo compiled on $GO_AGENT_NAME\"]}"),
                    ])
                    try await cluster.startScheduler()
                    let fleet: [RelevoCluster.WorkerSpec] = [
                        .init(name: "linux-1", resources: ["linux"], slots: 2, namespace: hosts.hosts[0].namespace),
                        .init(name: "linux-2", resources: ["linux"], namespace: hosts.hosts[1].namespace),
                        .init(name: "windows-1", resources: ["windows"], namespace: hosts.hosts[2].namespace),
                        .init(name: "repo-1", resources: ["yum-repo"], namespace: hosts.hosts[3].namespace),
                        .init(name: "repo-2", resources: ["yum-repo"], namespace: hosts.hosts[4].namespace),
                    ]
                    for spec in fleet { try await cluster.startWorker(spec) }
                    var agents: [String: String] = [:]
                    for spec in fleet { agents[try #require(try await cluster.agentUUID(spec.name))] = spec.name }

                    // Each worker reached the broker from its own address, as relevo-worker; the
                    // scheduler as relevo-scheduler; nobody over loopback.
                    let connections = try await broker.ctl(["list_connections", "user", "peer_host", "--no-table-headers", "--quiet"])
                    let rows = connections.split(separator: "\n").map { $0.split(whereSeparator: \.isWhitespace).map(String.init) }.filter { $0.count == 2 }
                    let workerPeers = Set(rows.filter { $0[0] == "relevo-worker" }.map { $0[1] })
                    #expect(workerPeers == Set(hosts.hosts.map(\.address)), "\(connections)")
                    #expect(rows.allSatisfy { ["relevo-worker", "relevo-scheduler"].contains($0[0]) && $0[1] != "127.0.0.1" }, "\(connections)")
                    #expect(rows.contains { $0 == ["relevo-scheduler", hosts.server] }, "\(connections)")

                    // What the worker's broker user may not do, tried with its own password.
                    try await expectWorkerUserRefusals(url: workerURL)

                    // A windows job goes to the windows host.
                    let windowsRun = try await cluster.api.post("/go/api/pipelines/win-build/schedule", body: RelevoCluster.pinnedSchedule)
                    #expect(windowsRun.status == 202, "\(windowsRun.text)")
                    let built = try await cluster.api.waitFor("win-build", 1, states: ["passed", "failed"], seconds: 60)
                    #expect(built["state"] as? String == "passed")
                    #expect(agents[built.jobs(ofStage: "build").first?["agent_uuid"] as? String ?? ""] == "windows-1")

                    for check in ["check-disk", "check-load"] {
                        let run = try await cluster.api.waitFor(check, 1, states: ["awaitingApproval", "failed", "cancelled"], seconds: 240)
                        let packageConsole = try await cluster.api.console(check, 1, "package", "package")
                        #expect(run["state"] as? String == "awaitingApproval", "\(check): \(packageConsole)")
                        // Test and package ran on linux hosts, every upload on a repository host.
                        for stage in ["test", "package", "upload_dev", "upload_int", "upload_pre"] {
                            let agent = agents[run.jobs(ofStage: stage).first?["agent_uuid"] as? String ?? ""] ?? "none"
                            let expected: Set<String> = stage.hasPrefix("upload") ? ["repo-1", "repo-2"] : ["linux-1", "linux-2"]
                            #expect(expected.contains(agent), "\(check) \(stage) ran on \(agent)")
                        }
                    }
                    for env in ["dev", "int", "pre"] {
                        try await eventually(120, "two passed createrepo-\(env) runs") {
                            let runs = try await cluster.api.history("createrepo-\(env)")
                            return runs.count == 2 && runs.allSatisfy { $0["state"] as? String == "passed" }
                        }
                        let intervals = try await jobIntervals(cluster, "createrepo-\(env)")
                        for (earlier, later) in zip(intervals, intervals.dropFirst()) {
                            #expect(later.start >= earlier.end, "createrepo-\(env) runs overlapped: \(intervals)")
                        }
                        for run in try await cluster.api.history("createrepo-\(env)") {
                            let agent = agents[run.jobs(ofStage: "createrepo").first?["agent_uuid"] as? String ?? ""] ?? "none"
                            #expect(["repo-1", "repo-2"].contains(agent), "createrepo-\(env) ran on \(agent)")
                        }
                    }
                    let dev = try await primaryMetadata(cluster, env: "dev")
                    #expect(dev.contains("<name>check-disk</name>") && dev.contains("<name>check-load</name>"), "\(dev.prefix(2000))")
                }
            }
        }
    }

    /// The broker refuses the worker's user everything but its own part: no job into a queue
    /// (default exchange), no catalogue, no reading the scheduler's events; events it may publish.
    private func expectWorkerUserRefusals(url: String) async throws {
        let job = Array(#"{"version":3,"forged":true}"#.utf8)
        for (exchange, key) in [("", "relevo.jobs.default.windows"), (QueueCatalog.catalogExchange, "")] {
            let client = try await AMQPClient.connect(try AMQPSettings(url: url, connectionName: "test:forger"))
            await #expect(throws: AMQPError.self, "publishing to '\(exchange)' as relevo-worker") {
                try await client.publish(job, exchange: exchange, routingKey: key)
            }
            await client.close()
        }
        let reader = try await AMQPClient.connect(try AMQPSettings(url: url, connectionName: "test:eavesdropper"))
        await #expect(throws: AMQPError.self, "reading relevo.scheduler.events as relevo-worker") {
            _ = try await reader.consume(queue: QueueCatalog.schedulerEventsQueue)
        }
        await reader.close()
        let allowed = try await AMQPClient.connect(try AMQPSettings(url: url, connectionName: "test:allowed"))
        try await allowed.publish(Array("{}".utf8), exchange: QueueCatalog.eventsExchange, routingKey: "event.unknown")
        await allowed.close()
    }

    // MARK: Helpers

    private struct Interval: CustomStringConvertible {
        let counter: Int
        let start: String
        let end: String
        var description: String { "#\(counter) \(start)…\(end)" }
    }

    /// When each instance's job was taken and when it finished, by counter.
    private func jobIntervals(_ cluster: RelevoCluster, _ pipeline: String) async throws -> [Interval] {
        try await cluster.api.history(pipeline).compactMap { run -> Interval? in
            guard let counter = run["counter"] as? Int,
                  let job = (run["stages"] as? [[String: Any]])?.first?["jobs"] as? [[String: Any]],
                  let start = job.first?["assigned_at"] as? String, let end = job.first?["completed_at"] as? String else { return nil }
            return Interval(counter: counter, start: start, end: end)
        }.sorted { $0.counter < $1.counter }
    }

    /// The primary metadata of a served repository, fetched over HTTP and decompressed.
    private func primaryMetadata(_ cluster: RelevoCluster, env: String) async throws -> String {
        let repomd = try await cluster.api.get("/repos/\(env)/repodata/repomd.xml")
        guard repomd.status == 200 else { throw TestSetupError("no repomd.xml for \(env): \(repomd.status) \(repomd.text)") }
        let href = try primaryHref(repomd.text)
        let primary = try await cluster.api.get("/repos/\(env)/\(href)")
        guard primary.status == 200 else { throw TestSetupError("cannot get \(href): \(primary.status)") }
        return try await gunzip(primary.body)
    }

    private func primaryMetadata(of repository: URL) async throws -> String {
        let repomd = try String(contentsOf: repository.appendingPathComponent("repodata/repomd.xml"), encoding: .utf8)
        return try await gunzip(try Data(contentsOf: repository.appendingPathComponent(try primaryHref(repomd))))
    }

    private func primaryHref(_ repomd: String) throws -> String {
        guard let data = repomd.range(of: "<data type=\"primary\">"),
              let location = repomd.range(of: "<location href=\"", range: data.upperBound..<repomd.endIndex),
              let end = repomd.range(of: "\"", range: location.upperBound..<repomd.endIndex) else {
            throw TestSetupError("repomd.xml has no primary metadata: \(repomd)")
        }
        return String(repomd[location.upperBound..<end.lowerBound])
    }

    private func gunzip(_ data: Data) async throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("relevo-primary-\(UUID().uuidString).gz")
        defer { try? FileManager.default.removeItem(at: file) }
        try data.write(to: file)
        let result = try await runProcessAsync(URL(fileURLWithPath: "/bin/gzip"), ["-dc", file.path])
        guard result.status == 0 else { throw TestSetupError("gzip -dc failed: \(result.standardError)") }
        return result.standardOutput
    }

    /// Builds the check-disk example's RPM with rpmbuild and puts it in `repository`.
    private func buildExampleRPM(into repository: URL, scratch: URL) async throws {
        let source = TestBroker.projectRoot.appendingPathComponent("config/examples/check-disk").path
        let script = """
            set -e
            mkdir -p '\(scratch.path)/src'
            cp -R '\(source)/.' '\(scratch.path)/src/'
            cd '\(scratch.path)/src'
            rpmbuild -bb --quiet --define "_topdir \(scratch.path)/top" --define "_sourcedir $PWD" check-disk.spec
            cp '\(scratch.path)'/top/RPMS/noarch/*.rpm '\(repository.path)/'
            """
        let result = try await runProcessAsync(URL(fileURLWithPath: "/bin/sh"), ["-c", script])
        guard result.status == 0 else { throw TestSetupError("rpmbuild failed: \(result.standardError)") }
    }
}
