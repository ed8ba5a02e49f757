import ArgumentParser
import Foundation
import Shared

/// `relevo`: a thin client of the scheduler's REST API, for people (tables) and scripts
/// (`--json`, exit codes).
@main
struct RelevoCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relevo",
        abstract: "Relevo from the command line: trigger, follow, approve and inspect pipelines.",
        discussion: """
            The server, token and CA file come from --server/--token/--ca-file, else RELEVO_SERVER/RELEVO_TOKEN/RELEVO_CA_FILE, else ~/.config/relevo/cli.yaml (keys: server, token, ca_file); the server defaults to http://127.0.0.1:8153.

            Exit codes: 0 success (a followed job or pipeline passed); 1 it failed or was cancelled, or the config is invalid; 2 the request was refused (400/401/403/409); 3 not found (404); 4 the server is unreachable or failed (5xx); 64 wrong usage.
            """,
        subcommands: [Validate.self, Trigger.self, Status.self, Approve.self, Rerun.self, Cancel.self, Unlock.self, Logs.self, Agents.self, Queues.self, Encrypt.self, ConfigRepos.self])
}

/// Where and who: shared by every command that talks to a server.
struct ServerOptions: ParsableArguments {
    @Option(help: "The scheduler, e.g. http://127.0.0.1:8153 (env RELEVO_SERVER).")
    var server: String?
    @Option(help: "An API token (env RELEVO_TOKEN).")
    var token: String?
    @Option(name: .customLong("ca-file"), help: "For an https server: the CA certificate (PEM) that signed its certificate, if not a system CA (env RELEVO_CA_FILE).")
    var caFile: String?
    @Flag(help: "Print the server's JSON instead of a table.")
    var json = false

    func client() throws -> APIClient {
        let file = Self.configFile()
        let environment = ProcessInfo.processInfo.environment
        let base = server ?? environment["RELEVO_SERVER"] ?? file["server"] ?? "http://127.0.0.1:8153"
        return APIClient(base: base.hasSuffix("/") ? String(base.dropLast()) : base,
                         token: token ?? environment["RELEVO_TOKEN"] ?? file["token"],
                         caFile: caFile ?? environment["RELEVO_CA_FILE"] ?? file["ca_file"])
    }

    /// `~/.config/relevo/cli.yaml`: `key: value` lines.
    static func configFile() -> [String: String] {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        guard let text = try? String(contentsOfFile: home + "/.config/relevo/cli.yaml", encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { values[parts[0]] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"'")) }
        }
        return values
    }
}

// MARK: Commands

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a directory of *.gocd.yaml files (locally, no server needed).")
    @Argument(help: "The config directory.", completion: .directory)
    var directory: String
    @Flag(help: "Print the normalised model as JSON.")
    var json = false

    func run() throws {
        let snapshot = ConfigLoader().load(directory: URL(fileURLWithPath: directory))
        print(json ? try snapshot.jsonString() : snapshot.summary)
        for error in snapshot.errors { printError(error.description) }
        if !snapshot.errors.isEmpty { throw ExitCode(1) }
    }
}

struct Trigger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start a new instance of a pipeline.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "The pipeline.")
    var pipeline: String
    @Option(name: .customLong("revision"), help: "Pin a material: NAME=COMMIT (repeatable).")
    var revisions: [String] = []
    @Option(name: .customLong("var"), help: "Override a variable the pipeline declares: NAME=VALUE (repeatable).")
    var variables: [String] = []
    @Option(name: .customLong("secure-var"), help: "The same, kept secret (masked in consoles, never in job messages).")
    var secureVariables: [String] = []
    @Flag(help: "Wait for the instance to end; exit 0 if it passed, 1 if not.")
    var wait = false

    func run() async throws {
        let client = try options.client()
        var materials: [[String: String]] = []
        for pin in revisions {
            let parts = pin.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--revision takes NAME=COMMIT, not '\(pin)'") }
            materials.append(["name": parts[0], "revision": parts[1]])
        }
        var given: [[String: Any]] = []
        for (option, values, secure) in [("--var", variables, false), ("--secure-var", secureVariables, true)] {
            for text in values {
                let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("\(option) takes NAME=VALUE, not '\(text)'") }
                given.append(["name": parts[0], "value": parts[1], "secure": secure])
            }
        }
        var request: [String: Any] = [:]
        if !materials.isEmpty { request["materials"] = materials }
        if !given.isEmpty { request["environment_variables"] = given }
        let body = request.isEmpty ? nil : try JSONSerialization.data(withJSONObject: request)
        let reply = try await client.send("POST", "/go/api/pipelines/\(encode(pipeline))/schedule", body: body)
        let object = try reply.object()
        let counter = object["counter"] as? Int ?? 0
        if options.json { print(reply.text) } else { print("scheduled \(pipeline)/\(counter) (label \(object["label"] as? String ?? "?"))") }
        guard wait else { return }
        let run = try await waitForEnd(client, pipeline, counter, quiet: options.json)
        throw ExitCode(run["state"] as? String == "passed" ? 0 : 1)
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every pipeline's newest instance, a pipeline's newest instances, or one instance's stages and jobs.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "The pipeline; without it, every pipeline's newest instance, as on the dashboard.")
    var pipeline: String?
    @Argument(help: "An instance counter; without it, the recent instances.")
    var counter: Int?

    func run() async throws {
        let client = try options.client()
        guard let pipeline else {
            let reply = try await client.send("GET", "/go/api/dashboard")
            if options.json { print(reply.text); return }
            let pipelines = try reply.object()["pipelines"] as? [[String: Any]] ?? []
            var rows: [[String]] = [["PIPELINE", "GROUP", "LATEST", "STATE", "STAGES"]]
            for entry in pipelines {
                let latest = entry["latest_instance"] as? [String: Any]
                let stages = (latest?["stages"] as? [[String: Any]] ?? []).map { "\($0["name"] as? String ?? "?"):\($0["state"] as? String ?? "?")" }
                let paused = entry["paused"] as? Bool == true ? " (paused)" : ""
                rows.append([(entry["name"] as? String ?? "?") + paused, entry["group"] as? String ?? "",
                             latest.map { "\($0["counter"] as? Int ?? 0) (\($0["label"] as? String ?? ""))" } ?? "never run",
                             latest?["state"] as? String ?? "", stages.joined(separator: " ")])
            }
            print(pipelines.isEmpty ? "no pipelines" : table(rows))
            return
        }
        if let counter {
            let reply = try await client.send("GET", "/go/api/pipelines/\(encode(pipeline))/\(counter)")
            if options.json { print(reply.text); return }
            let run = try reply.object()
            print("\(pipeline)/\(counter)  \(run["state"] as? String ?? "?")  label \(run["label"] as? String ?? "?")  by \(run["triggered_by"] as? String ?? "?")")
            // Agents by name, as the dashboard shows them.
            let agentList = (try? await client.send("GET", "/go/api/agents").object()["_embedded"] as? [String: Any])?["agents"] as? [[String: Any]] ?? []
            let names = Dictionary(agentList.compactMap { agent in (agent["uuid"] as? String).map { ($0, agent["hostname"] as? String ?? agent["name"] as? String ?? $0) } },
                                   uniquingKeysWith: { first, _ in first })
            var rows: [[String]] = [["STAGE", "JOB", "STATE", "RESULT", "AGENT", "ATTEMPT"]]
            for stage in run["stages"] as? [[String: Any]] ?? [] {
                let name = "\(stage["name"] as? String ?? "?")/\(stage["counter"] as? Int ?? 1)"
                let jobs = stage["jobs"] as? [[String: Any]] ?? []
                if jobs.isEmpty { rows.append([name, "-", stage["state"] as? String ?? "?", "", "", ""]) }
                for job in jobs {
                    let runCount = job["run_count"] as? Int ?? 1
                    let jobName = (job["name"] as? String ?? "?") + (runCount > 1 ? " [\(job["run_index"] as? Int ?? 1)/\(runCount)]" : "")
                    let copied = (job["original_stage_counter"] as? Int).map { " (copied from run \($0))" } ?? ""
                    rows.append([name, jobName + copied, job["state"] as? String ?? "?", job["result"] as? String ?? "",
                                 (job["agent_uuid"] as? String).map { names[$0] ?? String($0.prefix(8)) } ?? "",
                                 String(job["attempt"] as? Int ?? 1)])
                }
            }
            print(table(rows))
        } else {
            let reply = try await client.send("GET", "/go/api/pipelines/\(encode(pipeline))/history?page_size=10")
            if options.json { print(reply.text); return }
            let runs = ((try reply.object()["_embedded"] as? [String: Any])?["pipelines"] as? [[String: Any]]) ?? []
            var rows: [[String]] = [["COUNTER", "LABEL", "STATE", "STAGES", "TRIGGERED BY"]]
            for run in runs {
                // A stage run again shows its run: `build/2:passed`.
                let stages = (run["stages"] as? [[String: Any]] ?? []).map { stage in
                    let counter = stage["counter"] as? Int ?? 1
                    return "\(stage["name"] as? String ?? "?")\(counter > 1 ? "/\(counter)" : ""):\(stage["state"] as? String ?? "?")"
                }
                rows.append([String(run["counter"] as? Int ?? 0), run["label"] as? String ?? "", run["state"] as? String ?? "",
                             stages.joined(separator: " "), run["triggered_by"] as? String ?? ""])
            }
            print(runs.isEmpty ? "\(pipeline) has not run yet" : table(rows))
        }
    }
}

struct Approve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Press \"play\" on a stage that waits for approval.")
    @OptionGroup var options: ServerOptions
    @Argument var pipeline: String
    @Argument var counter: Int
    @Argument var stage: String

    func run() async throws {
        let reply = try await options.client().send("POST", "/go/api/stages/\(encode(pipeline))/\(counter)/\(encode(stage))/run")
        print(options.json ? reply.text : (try reply.object()["message"] as? String ?? "approved"))
    }
}

struct Rerun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an ended stage again: every job, only the failed ones (--failed), or the ones named (--job).")
    @OptionGroup var options: ServerOptions
    @Argument var pipeline: String
    @Argument var counter: Int
    @Argument var stage: String
    @Flag(help: "Only the jobs that failed or were cancelled; the others are copied.") var failed = false
    @Option(name: .customLong("job"), help: "A job to run again (repeatable); the others are copied.") var jobs: [String] = []

    func run() async throws {
        let client = try options.client()
        let stagePath = "/go/api/stages/\(encode(pipeline))/\(counter)/\(encode(stage))"
        let reply: APIClient.Reply
        // The stage's current run is the one that runs again.
        let instance = try await client.send("GET", "/go/api/pipelines/\(encode(pipeline))/\(counter)").object()
        let stages = instance["stages"] as? [[String: Any]] ?? []
        guard let current = stages.first(where: { $0["name"] as? String == stage })?["counter"] as? Int else {
            printError("relevo: \(pipeline)/\(counter) has no stage '\(stage)'")
            throw ExitCode(3)
        }
        if !failed && jobs.isEmpty {
            reply = try await client.send("POST", "\(stagePath)/\(current)/rerun")
        } else if failed {
            reply = try await client.send("POST", "\(stagePath)/\(current)/run-failed-jobs")
        } else {
            let body = try JSONSerialization.data(withJSONObject: ["jobs": jobs])
            reply = try await client.send("POST", "\(stagePath)/\(current)/run-selected-jobs", body: body)
        }
        print(options.json ? reply.text : (try reply.object()["message"] as? String ?? "accepted"))
    }
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel a running stage: its jobs are stopped on their workers.")
    @OptionGroup var options: ServerOptions
    @Argument var pipeline: String
    @Argument var counter: Int
    @Argument var stage: String
    @Option(name: .customLong("stage-counter")) var stageCounter = 1

    func run() async throws {
        let reply = try await options.client().send("POST", "/go/api/stages/\(encode(pipeline))/\(counter)/\(encode(stage))/\(stageCounter)/cancel")
        print(options.json ? reply.text : (try reply.object()["message"] as? String ?? "cancelled"))
    }
}

struct ConfigRepos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config-repos",
        abstract: "Pipelines as code: list the config repositories (with their errors), add one (--add ID --url URL [--branch B]) or remove one (--remove ID).")
    @OptionGroup var options: ServerOptions
    @Option(help: "Add a config repository with this id (with --url).") var add: String?
    @Option(help: "The git URL of the repository to add.") var url: String?
    @Option(help: "Its branch (default main).") var branch = "main"
    @Option(help: "Remove the config repository with this id.") var remove: String?

    func run() async throws {
        let client = try options.client()
        if let add {
            guard let url else {
                printError("relevo: --add needs --url")
                throw ExitCode(64)
            }
            let body = try JSONSerialization.data(withJSONObject: [
                "id": add, "plugin_id": "yaml.config.plugin", "material": ["type": "git", "attributes": ["url": url, "branch": branch]],
            ] as [String: Any])
            let reply = try await client.send("POST", "/go/api/admin/config_repos", body: body)
            print(options.json ? reply.text : "config repository \(add) added")
            return
        }
        if let remove {
            let reply = try await client.send("DELETE", "/go/api/admin/config_repos/\(encode(remove))")
            print(options.json ? reply.text : (try reply.object()["message"] as? String ?? "removed"))
            return
        }
        let reply = try await client.send("GET", "/go/api/admin/config_repos")
        if options.json { print(reply.text); return }
        let repos = (try reply.object()["_embedded"] as? [String: Any])?["config_repos"] as? [[String: Any]] ?? []
        var rows: [[String]] = [["ID", "URL", "BRANCH", "REVISION", "PIPELINES", "STATUS"]]
        var errors: [String] = []
        for repo in repos {
            let attributes = (repo["material"] as? [String: Any])?["attributes"] as? [String: Any] ?? [:]
            let configErrors = repo["config_errors"] as? [String] ?? []
            errors += configErrors
            let status = (repo["error"] as? String).map { "poll failed: \($0)" } ?? (configErrors.isEmpty ? "ok" : "\(configErrors.count) config errors")
            rows.append([repo["id"] as? String ?? "?", attributes["url"] as? String ?? "", attributes["branch"] as? String ?? "",
                         String((repo["revision"] as? String ?? "—").prefix(12)), (repo["pipelines"] as? [String] ?? []).joined(separator: " "), status])
        }
        print(repos.isEmpty ? "no config repositories" : table(rows))
        for error in errors { print(error) }
    }
}

struct Encrypt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encrypt a value with the server's key, for a secure variable that can sit in a repository (GoCD's encrypted value).",
        discussion: "Reads the value from standard input when none is given, so that it stays out of the shell's history. Needs an admin token.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "The value; omit it to read standard input.") var value: String?

    func run() async throws {
        let plaintext: String
        if let value {
            plaintext = value
        } else {
            var lines: [String] = []
            while let line = readLine(strippingNewline: true) { lines.append(line) }
            plaintext = lines.joined(separator: "\n")
        }
        let body = try JSONSerialization.data(withJSONObject: ["value": plaintext])
        let reply = try await options.client().send("POST", "/go/api/admin/encrypt", body: body)
        print(options.json ? reply.text : (try reply.object()["encrypted_value"] as? String ?? reply.text))
    }
}

struct Unlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Release the lock a failed lockOnFailure instance holds.")
    @OptionGroup var options: ServerOptions
    @Argument var pipeline: String

    func run() async throws {
        let reply = try await options.client().send("POST", "/go/api/pipelines/\(encode(pipeline))/unlock")
        print(options.json ? reply.text : (try reply.object()["message"] as? String ?? "unlocked"))
    }
}

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a job's console; with --follow, as it runs, exiting with the job's result.")
    @OptionGroup var options: ServerOptions
    @Argument var pipeline: String
    @Argument var counter: Int
    @Argument var stage: String
    @Argument var job: String
    @Option(name: .customLong("stage-counter")) var stageCounter = 1
    @Option(name: .customLong("run-index"), help: "Which copy of a run_instances job.") var runIndex = 1
    @Flag(name: .shortAndLong, help: "Keep printing until the job ends; exit 0 if it passed, 1 if not.") var follow = false

    func run() async throws {
        let client = try options.client()
        let console = "/go/files/\(encode(pipeline))/\(counter)/\(encode(stage))/\(stageCounter)/\(encode(job))/cruise-output/console.log"
        let jobPath = "/go/api/jobs/\(encode(pipeline))/\(counter)/\(encode(stage))/\(stageCounter)/\(encode(job))"
        var offset = 0
        while true {
            // The job's state first, then the text: text read after a "completed" state is complete.
            let jobs = try await client.send("GET", jobPath)
            let runs = ((try jobs.object()["_embedded"] as? [String: Any])?["jobs"] as? [[String: Any]]) ?? []
            let current = runs.first { $0["run_index"] as? Int == runIndex }
            let text = try await client.send("GET", "\(console)?run_index=\(runIndex)&start=\(offset)")
            if !text.body.isEmpty {
                FileHandle.standardOutput.write(text.body)
                offset += text.body.count
            }
            guard follow else { return }
            if current?["state"] as? String == "completed" {
                throw ExitCode(current?["result"] as? String == "passed" ? 0 : 1)
            }
            try await Task.sleep(for: .milliseconds(300))
        }
    }
}

struct Agents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the agents the scheduler knows.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let reply = try await options.client().send("GET", "/go/api/agents")
        if options.json { print(reply.text); return }
        let agents = ((try reply.object()["_embedded"] as? [String: Any])?["agents"] as? [[String: Any]]) ?? []
        var rows: [[String]] = [["NAME", "STATE", "RESOURCES", "ENVIRONMENTS", "UUID"]]
        for agent in agents {
            rows.append([agent["hostname"] as? String ?? "?", agent["agent_state"] as? String ?? "?",
                         (agent["resources"] as? [String] ?? []).joined(separator: ","),
                         (agent["environments"] as? [String] ?? []).joined(separator: ","), agent["uuid"] as? String ?? ""])
        }
        print(table(rows))
    }
}

struct Queues: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the relevo.* queues with their depth and consumers.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        let reply = try await options.client().send("GET", "/go/api/queues")
        if options.json { print(reply.text); return }
        let queues = ((try reply.object()["_embedded"] as? [String: Any])?["queues"] as? [[String: Any]]) ?? []
        var rows: [[String]] = [["QUEUE", "READY", "UNACKED", "CONSUMERS", "ACTIVE CONSUMER"]]
        for queue in queues {
            let unacked = (queue["messages_unacknowledged"] as? Int).map(String.init) ?? "-"
            // `relevo-worker linux-1 (consume)` is worker linux-1's connection.
            var active = queue["single_active_consumer"] as? Bool == true ? (queue["active_consumer"] as? String ?? "?") : "-"
            if active.hasPrefix("relevo-worker "), active.hasSuffix(" (consume)") {
                active = String(active.dropFirst("relevo-worker ".count).dropLast(" (consume)".count))
            }
            rows.append([queue["name"] as? String ?? "?", String(queue["messages"] as? Int ?? 0), unacked,
                         String(queue["consumers"] as? Int ?? 0), active])
        }
        print(table(rows))
    }
}

// MARK: Helpers

/// Waits until instance `counter` of `pipeline` has ended, printing each stage as it ends.
func waitForEnd(_ client: APIClient, _ pipeline: String, _ counter: Int, quiet: Bool) async throws -> [String: Any] {
    var reported: Set<String> = []
    while true {
        let run = try await client.send("GET", "/go/api/pipelines/\(encode(pipeline))/\(counter)").object()
        for stage in run["stages"] as? [[String: Any]] ?? [] {
            guard let result = stage["result"] as? String, let name = stage["name"] as? String else { continue }
            if !quiet, reported.insert(name).inserted { print("  \(name): \(result)") }
        }
        let state = run["state"] as? String ?? ""
        if ["passed", "failed", "cancelled"].contains(state) {
            if !quiet { print("\(pipeline)/\(counter): \(state)") }
            return run
        }
        if state == "awaitingApproval" {
            if !quiet { print("\(pipeline)/\(counter): waits for approval") }
            return run
        }
        try await Task.sleep(for: .milliseconds(300))
    }
}

func encode(_ segment: String) -> String { ArtifactLocator.encode(segment) }

/// Columns padded to their widest cell.
func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    let widths = first.indices.map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
