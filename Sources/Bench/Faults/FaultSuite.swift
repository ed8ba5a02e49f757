import Foundation
import Glibc
import Logging
import Shared

/// `relevo-bench --faults`: a real broker, scheduler and three workers run the `soak` pipeline
/// while faults are injected at random moments chosen from a seed (printed, so a run can be
/// repeated); then it checks that nothing was lost, stuck, doubled or overlapped, and prints
/// rounds, faults and how long each took to recover from.
struct FaultSuite {
    struct Options {
        var rounds: Int
        var seed: UInt64
        /// How long a database lock is held.
        var lockSeconds: Double
        /// How long a frozen worker stays frozen.
        var freezeSeconds: Double
        /// Instances triggered per round.
        var instancesPerRound: Int
        /// The faults to draw from; with `rounds` = their count, each comes once (in a seeded order).
        var faults: [Fault] = Fault.allCases
    }

    let options: Options
    let repository: URL
    let binaries: URL

    static let workerNames = ["w1", "w2", "w3"]
    static let slots = 2
    /// An instance that has not ended this long after its round's fault recovered is stuck.
    static let roundTimeout: Duration = .seconds(180)

    /// One injected fault and what followed.
    struct Record {
        var round: Int
        var fault: Fault
        var target: String
        /// Jobs in flight on the hit worker when the fault came.
        var victims: Int
        /// Fault (or, for the broker, scheduler and database, their return) → the hit jobs
        /// running again or ended; for faults without victims, → the first job started.
        var recovery: Duration?
        var note: String = ""
        /// Instances triggered just after the fault, to measure how soon dispatch resumes.
        var probes: [Int] = []
    }

    func run() async throws -> Bool {
        Teardown.shared.installSignalHandlers()
        var random = SeededGenerator(seed: options.seed)
        let cluster = try BenchCluster(repository: repository, binaries: binaries)
        let journal = cluster.root.appendingPathComponent("journal")
        try FileManager.default.createDirectory(at: journal, withIntermediateDirectories: true)
        var records: [Record] = []
        var counters: [Int] = []
        let started = ContinuousClock.now
        say("fault suite: seed \(options.seed), \(options.rounds) rounds, \(Self.workerNames.count) workers × \(Self.slots) slots, "
              + "\(options.instancesPerRound) instances of '\(SoakPipeline.name)' per round; repeat with --seed \(options.seed)")
        do {
            try await cluster.startBroker()
            try SoakPipeline.file(journal: journal).write(to: cluster.configDirectory.appendingPathComponent("soak.gocd.yaml"),
                                                         atomically: true, encoding: .utf8)
            try await cluster.startScheduler()
            for name in Self.workerNames { try await cluster.startWorker(name: name, slots: Self.slots) }
            try await waitUntilKnown(cluster)
            let order = faultOrder(&random)
            for (index, fault) in order.enumerated() {
                let round = index + 1
                let fresh = try await trigger(cluster, count: options.instancesPerRound)
                counters += fresh
                // A random moment: while the round's first jobs run, or a little later.
                try await Task.sleep(for: .milliseconds(Int.random(in: 300...3500, using: &random)))
                var record = try await inject(fault, round: round, cluster: cluster, random: &random)
                counters += record.probes
                let ended = await waitForInstances(cluster, counters, timeout: Self.roundTimeout)
                let stuck = counters.filter { !ended.contains($0) }
                if !stuck.isEmpty { record.note += " still running after \(Self.roundTimeout): \(stuck.map(String.init).joined(separator: ", "))" }
                records.append(record)
                let recovered = record.recovery.map { String(format: "%6.2f s", $0.seconds) } ?? "     —"
                say("round \(pad(round, 3))/\(order.count)  \(fault.rawValue.padding(toLength: 17, withPad: " ", startingAt: 0)) "
                      + "\(record.target.padding(toLength: 9, withPad: " ", startingAt: 0)) victims \(record.victims)  recovered \(recovered)  "
                      + "instances \(fresh.first ?? 0)–\(fresh.last ?? 0)\(record.note)")
            }
            let report = try await check(cluster, counters: counters, journal: journal)
            say("")
            say(report.text(records: records, elapsed: ContinuousClock.now - started, seed: options.seed))
            let problems = await cluster.shutDown()
            for problem in problems { say("teardown: \(problem)") }
            return report.passed && problems.isEmpty
        } catch {
            say("fault suite stopped: \(error)")
            for worker in cluster.workers { worker.signal(SIGCONT) }
            for line in cluster.scheduler?.logTail(30).split(separator: "\n") ?? [] { say("scheduler| \(line)") }
            _ = await cluster.shutDown()
            throw error
        }
    }

    /// Each fault once in a seeded order when the rounds allow, otherwise random faults.
    private func faultOrder(_ random: inout SeededGenerator) -> [Fault] {
        var order: [Fault] = []
        while order.count < options.rounds {
            order += options.faults.shuffled(using: &random)
        }
        return Array(order.prefix(options.rounds))
    }

    private func waitUntilKnown(_ cluster: BenchCluster) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if await cluster.api.knowsPipeline(SoakPipeline.name) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("load the soak pipeline", "the scheduler does not know it after 60 s:\n\(cluster.scheduler?.logTail() ?? "")")
    }

    /// Triggers `count` instances, retrying while the scheduler is not answering.
    private func trigger(_ cluster: BenchCluster, count: Int) async throws -> [Int] {
        var counters: [Int] = []
        for _ in 0..<count {
            let deadline = ContinuousClock.now + .seconds(90)
            while true {
                do {
                    counters.append(try await cluster.api.schedule(SoakPipeline.name, revisions: SoakPipeline.revisions))
                    break
                } catch {
                    guard ContinuousClock.now < deadline else { throw BenchError("trigger \(SoakPipeline.name)", "\(error)") }
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
        }
        return counters
    }

    // MARK: Faults

    private func inject(_ fault: Fault, round: Int, cluster: BenchCluster, random: inout SeededGenerator) async throws -> Record {
        let agents = (try? await cluster.api.agents()) ?? []
        if fault.hitsAWorker {
            // Preferably a worker that is running something, so that the fault has victims: if
            // none is at this moment, the next moment one is (within 10 s).
            var inFlight = await jobsInFlight(cluster)
            let patience = ContinuousClock.now + .seconds(10)
            while inFlight.isEmpty, ContinuousClock.now < patience {
                try await Task.sleep(for: .milliseconds(50))
                inFlight = await jobsInFlight(cluster)
            }
            let busy = Self.workerNames.filter { name in
                guard let uuid = agents.first(where: { $0.hostname == name })?.uuid else { return false }
                return inFlight.contains { $0.agent == uuid }
            }
            let name = (busy.isEmpty ? Self.workerNames : busy).randomElement(using: &random) ?? Self.workerNames[0]
            guard let worker = cluster.workers.first(where: { $0.name == name && $0.isRunning }),
                  let uuid = agents.first(where: { $0.hostname == name })?.uuid else {
                throw BenchError("inject \(fault.rawValue)", "worker \(name) is not running")
            }
            let victims = inFlight.filter { $0.agent == uuid }
            let faultAt = Date()
            var note = ""
            switch fault {
            case .workerKill:
                worker.kill()
            case .workerTerm:
                worker.signal(SIGTERM)
            case .workerFreeze:
                worker.signal(SIGSTOP)
            case .workerDisable:
                try await cluster.api.setAgent(uuid, enabled: false)
            default:
                break
            }
            let recovery = await waitForVictims(cluster, victims, since: faultAt, timeout: .seconds(120))
            // Undo the fault once its victims are dealt with (or the wait gave up).
            switch fault {
            case .workerKill:
                try await cluster.startWorker(name: name, slots: Self.slots)
            case .workerTerm:
                let deadline = ContinuousClock.now + .seconds(120)
                while worker.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
                if worker.isRunning { note = " (did not exit within 120 s of SIGTERM)"; worker.kill() }
                try await cluster.startWorker(name: name, slots: Self.slots)
            case .workerFreeze:
                let thawAt = faultAt.addingTimeInterval(options.freezeSeconds)
                if thawAt > Date() { try await Task.sleep(for: .milliseconds(Int(thawAt.timeIntervalSinceNow * 1000))) }
                worker.signal(SIGCONT)
            case .workerDisable:
                try await Task.sleep(for: .seconds(1))
                try await cluster.api.setAgent(uuid, enabled: true)
            default:
                break
            }
            // Which jobs were hit: a serial one on a frozen worker waits for the broker to drop that
            // worker's connection, an ordinary one only for the scheduler's liveness pass.
            note += victims.isEmpty ? " (it ran nothing)" : " (hit: " + victims.map { "#\($0.counter) \($0.stage)/\($0.job)" }.sorted().joined(separator: ", ") + ")"
            return Record(round: round, fault: fault, target: name, victims: victims.count, recovery: recovery, note: note)
        }
        let faultAt = Date()
        let target: String
        switch fault {
        case .schedulerKill:
            target = "scheduler"
            cluster.killScheduler()
            try await cluster.startScheduler()
        case .brokerRestart, .brokerKill:
            target = "broker"
            // The broker is back when its AMQP port accepts connections again (clients reconnect
            // from then on, before the restart command has finished its own checks).
            let port = cluster.broker.flatMap { URLComponents(string: $0.url)?.port } ?? 0
            let watcher = Task { await Self.portCycle(port) }
            try await cluster.restartBroker(hard: fault == .brokerKill)
            let reopened = await watcher.value
            let probe = try await trigger(cluster, count: 1)
            let recovery = await waitForFirstStart(cluster, after: reopened ?? Date(), timeout: .seconds(120))
            let outage = String(format: " (down %.1f s)", (reopened ?? Date()).timeIntervalSince(faultAt))
            return Record(round: round, fault: fault, target: target, victims: 0, recovery: recovery, note: outage, probes: probe)
        case .databaseLock:
            target = "database"
            try await holdDatabaseLock(cluster, seconds: options.lockSeconds)
        default:
            target = "?"
        }
        // Back: the scheduler answers again, or the lock is released. A new instance, so that
        // there is work to dispatch whatever was left when the fault came.
        let back = Date()
        let probe = try await trigger(cluster, count: 1)
        let recovery = await waitForFirstStart(cluster, after: back, timeout: .seconds(120))
        let outage = String(format: " (down %.1f s)", back.timeIntervalSince(faultAt))
        return Record(round: round, fault: fault, target: target, victims: 0, recovery: recovery, note: outage, probes: probe)
    }

    /// Waits until TCP port `port` on loopback refuses connections, then accepts them again;
    /// returns when it did (nil if that did not happen within two minutes).
    private static func portCycle(_ port: Int) async -> Date? {
        let deadline = ContinuousClock.now + .seconds(120)
        var wentDown = false
        while ContinuousClock.now < deadline {
            let open = portAccepts(port)
            if !open { wentDown = true }
            if open && wentDown { return Date() }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    private static func portAccepts(_ port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }

    /// Holds SQLite's write lock on the scheduler's database from another process for `seconds`.
    private func holdDatabaseLock(_ cluster: BenchCluster, seconds: Double) async throws {
        let database = cluster.dataDirectory.appendingPathComponent("relevo.sqlite").path
        let script = "(echo 'BEGIN IMMEDIATE;'; sleep \(seconds); echo 'COMMIT;') | sqlite3 '\(database)'"
        let locker = try ChildProcess.start(URL(fileURLWithPath: "/bin/sh"), ["-c", script], name: "database-lock", directory: cluster.root)
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000) + 30_000)
        while locker.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if locker.isRunning {
            locker.kill()
            throw BenchError("hold the database lock", "sqlite3 did not finish: \(locker.logTail())")
        }
        let log = locker.logTail().trimmingCharacters(in: .whitespacesAndNewlines)
        if !log.isEmpty { throw BenchError("hold the database lock", "sqlite3 said: \(log)") }
    }

    // MARK: Observation

    struct InFlight: Hashable {
        var counter: Int
        var stage: String
        var stageCounter: Int
        var job: String
        var runIndex: Int
        var attempt: Int
        var agent: String
    }

    /// The jobs assigned or building now, with their agents.
    private func jobsInFlight(_ cluster: BenchCluster) async -> [InFlight] {
        guard let history = try? await recentInstances(cluster) else { return [] }
        return history.flatMap { instance in
            instance.stages.flatMap { stage in
                stage.jobs.compactMap { job in
                    guard job.state == "assigned" || job.state == "building", let agent = job.agentUuid else { return nil }
                    return InFlight(counter: instance.counter, stage: stage.name, stageCounter: stage.counter, job: job.name,
                                    runIndex: job.runIndex, attempt: job.attempt, agent: agent)
                }
            }
        }
    }

    /// The instances not yet ended (at most the last 50), or all of those 50 with `ended`.
    private func recentInstances(_ cluster: BenchCluster, ended: Bool = false) async throws -> [SchedulerAPI.Instance] {
        let reply = try await cluster.api.request("GET", "/go/api/pipelines/\(SoakPipeline.name)/history?page_size=50")
        guard reply.status == 200 else { throw BenchError("read history", "HTTP \(reply.status)") }
        struct History: Decodable { let pipelines: [SchedulerAPI.Instance] }
        return try SchedulerAPI.decoder.decode(History.self, from: reply.body).pipelines.filter { ended || !$0.isCompleted }
    }

    /// Waits until every victim runs again (a newer attempt building or ended) or has ended;
    /// returns how long that took from `since`, or nil if there were none or it timed out.
    private func waitForVictims(_ cluster: BenchCluster, _ victims: [InFlight], since: Date, timeout: Duration) async -> Duration? {
        guard !victims.isEmpty else { return nil }
        let deadline = ContinuousClock.now + timeout
        var pending = Set(victims)
        while ContinuousClock.now < deadline {
            for victim in pending {
                guard let instance = try? await cluster.api.instance(SoakPipeline.name, victim.counter),
                      let stage = instance.stages.first(where: { $0.name == victim.stage && $0.counter == victim.stageCounter }),
                      let job = stage.jobs.first(where: { $0.name == victim.job && $0.runIndex == victim.runIndex }) else { continue }
                let runsAgain = job.attempt > victim.attempt && (job.state == "building" || job.state == "completed")
                if runsAgain || job.state == "completed" { pending.remove(victim) }
            }
            if pending.isEmpty { return .milliseconds(Int(Date().timeIntervalSince(since) * 1000)) }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// Waits until some job starts after `after`; returns how long from `after`, or nil.
    private func waitForFirstStart(_ cluster: BenchCluster, after: Date, timeout: Duration) async -> Duration? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            // Ended ones too: under load the first answer may come after the work is done.
            if let instances = try? await recentInstances(cluster, ended: true) {
                let starts = instances.flatMap(\.jobs).compactMap(\.startedAt).filter { $0 > after }
                if let first = starts.min() { return .milliseconds(Int(first.timeIntervalSince(after) * 1000)) }
                // Nothing left to start: nothing to measure.
                if instances.allSatisfy(\.isCompleted) { return nil }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// Waits until the instances have ended; returns those that did.
    private func waitForInstances(_ cluster: BenchCluster, _ counters: [Int], timeout: Duration) async -> Set<Int> {
        let deadline = ContinuousClock.now + timeout
        var ended: Set<Int> = []
        while ContinuousClock.now < deadline {
            for counter in counters where !ended.contains(counter) {
                if let instance = try? await cluster.api.instance(SoakPipeline.name, counter), instance.isCompleted { ended.insert(counter) }
            }
            if ended.count == counters.count { break }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return ended
    }

    // MARK: Checks

    private func check(_ cluster: BenchCluster, counters: [Int], journal: URL) async throws -> FaultReport {
        var report = FaultReport()
        let ended = await waitForInstances(cluster, counters, timeout: .seconds(120))
        report.instances = counters.count
        var doneLines: [String: Int] = [:]
        for line in lines(journal.appendingPathComponent("done")) {
            let fields = line.split(separator: " ")
            guard fields.count == 5 else { continue }
            doneLines[fields[0...3].joined(separator: " "), default: 0] += 1
        }
        for counter in counters {
            guard ended.contains(counter), let instance = try await cluster.api.instance(SoakPipeline.name, counter) else {
                let state = (try? await cluster.api.instance(SoakPipeline.name, counter))
                let jobs = state?.stages.flatMap { stage in stage.jobs.map { "\(stage.name)/\($0.name)#\($0.runIndex) \($0.state) a\($0.attempt)" } } ?? []
                report.stuck.append("\(counter): \(state?.state ?? "missing") [\(jobs.joined(separator: ", "))]")
                continue
            }
            if instance.state != "passed" {
                let failed = instance.stages.flatMap { stage in stage.jobs.filter { $0.result != "passed" }.map { "\(stage.name)/\($0.name)#\($0.runIndex) \($0.result)" } }
                report.failed.append("\(counter): \(instance.state) [\(failed.joined(separator: ", "))]")
            }
            report.jobs += instance.jobs.count
            report.attempts += instance.jobs.map(\.attempt).reduce(0, +)
            for stage in instance.stages {
                for job in stage.jobs {
                    if job.state != "completed" || !["passed", "failed", "cancelled"].contains(job.result) {
                        report.withoutResult.append("\(counter)/\(stage.name)/\(job.name)#\(job.runIndex): \(job.state) \(job.result)")
                    }
                    // Only the passed ones must have run to their end (a failed job's tasks need not).
                    guard instance.state == "passed" else { continue }
                    let runs = doneLines["\(counter) \(stage.name) \(job.name) \(job.runIndex)"] ?? 0
                    if runs == 0 { report.neverRan.append("\(counter)/\(stage.name)/\(job.name)#\(job.runIndex)") }
                    if runs > 1 { report.ranTwice += 1 }
                }
            }
        }
        report.overlaps = lines(journal.appendingPathComponent("overlaps")).count
        report.checksumMismatches = lines(journal.appendingPathComponent("checksums")).count
        let letters = (try? await cluster.api.deadLetters()) ?? []
        report.deadLetters = Dictionary(grouping: letters, by: { "\($0.kind): \($0.outcome.prefix(60))" }).mapValues(\.count)
        report.conflicts = letters.filter { $0.kind == "event" }.count
        report.queues = try await leftInQueues(cluster)
        return report
    }

    /// Messages still ready in Relevo's queues (a passive declare counts them at once).
    private func leftInQueues(_ cluster: BenchCluster) async throws -> [String: Int] {
        guard let url = cluster.broker?.url else { return [:] }
        var quiet = Logger(label: "relevo-bench")
        quiet.logLevel = .warning
        let client = try await AMQPClient.connect(try AMQPSettings(url: url, connectionName: "relevo-bench:faults"), logger: quiet)
        defer { Task { await client.close() } }
        let names = [QueueCatalog.schedulerEventsQueue, QueueCatalog.deadLetterQueue,
                     JobQueueKey(environment: nil, resources: []).queueName, QueueCatalog.serialQueue(key: SoakPipeline.serialKey)]
        var left: [String: Int] = [:]
        for name in names {
            let status = try await client.queueStatus(name)
            left[name] = status.messages
        }
        return left
    }

    private func lines(_ file: URL) -> [Substring] {
        ((try? String(contentsOf: file, encoding: .utf8)) ?? "").split(separator: "\n")
    }
}

extension Duration {
    var seconds: Double { milliseconds / 1000 }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return String(repeating: " ", count: max(0, width - text.count)) + text
}

/// Writes a line at once (unbuffered, unlike `print` into a pipe): the suite's progress shows
/// as it goes, also through `scripts/test`'s `tee`.
func say(_ line: String = "") {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
