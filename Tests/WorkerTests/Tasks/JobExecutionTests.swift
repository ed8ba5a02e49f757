import Foundation
import Shared
import Testing
@testable import Worker

@Suite struct JobExecutionTests {
    typealias Support = WorkerTestSupport

    private func run(
        _ tasks: [TaskDefinition], environment: [String: String] = WorkerTestSupport.environment,
        secureValues: [String] = [], directory: String? = nil,
        fetch: @escaping TaskSequenceRunner.FetchHandler = TaskSequenceRunner.noFetcher
    ) async throws -> (JobOutcome, String) {
        let console = ConsoleRecorder()
        let directory = try directory ?? Support.jobDirectory()
        defer { Support.removeJobDirectory(directory) }
        let job = TaskSequenceRunner(
            tasks: tasks, workingDirectory: directory, environment: environment,
            secureValues: secureValues, console: console.sink, fetch: fetch)
        let outcome = await job.run()
        return (outcome, await console.text)
    }

    @Test func passingJob() async throws {
        let (outcome, console) = try await run([Support.exec("/bin/echo", "hello", "big world"), Support.shell("echo second")])
        #expect(outcome.result == .passed)
        #expect(outcome.tasks.map(\.outcome) == [.passed, .passed])
        #expect(outcome.tasks.map(\.exitStatus) == [.exited(0), .exited(0)])
        #expect(outcome.tasks[0].command == "/bin/echo")
        #expect(outcome.tasks[0].arguments == ["hello", "big world"])
        let lines = console.split(separator: "\n").map(String.init)
        #expect(lines[0] == "[relevo] Task: /bin/echo hello 'big world'")
        #expect(lines[1] == "hello big world")
        #expect(lines[2].hasPrefix("[relevo] Task status: passed (exit 0) ("))
        #expect(lines[2].hasSuffix("ms)"))
        #expect(lines[3] == "[relevo] Task: /bin/sh -c 'echo second'")
        #expect(lines[4] == "second")
        #expect(lines.last == "[relevo] Job result: passed")
    }

    @Test func failingTaskSkipsPassedTasksAndRunsFailedAndAnyTasks() async throws {
        let (outcome, console) = try await run([
            Support.exec("/bin/echo", "first"),
            Support.exec("/bin/echo", "not-on-success", runIf: .failed),
            Support.exec("/bin/false"),
            Support.exec("/bin/echo", "after-failure-passed"),
            Support.exec("/bin/echo", "after-failure-failed", runIf: .failed),
            Support.exec("/bin/echo", "after-failure-any", runIf: .any),
        ])
        #expect(outcome.result == .failed)
        #expect(outcome.tasks.map(\.outcome) == [.passed, .skipped, .failed, .skipped, .passed, .passed])
        #expect(outcome.tasks[2].exitStatus == .exited(1))
        #expect(console.contains("[relevo] Task status: failed (exit 1) ("))
        #expect(!console.contains("\nnot-on-success\n"))
        #expect(!console.contains("\nafter-failure-passed\n"))
        #expect(console.contains("\nafter-failure-failed\n"))
        #expect(console.contains("\nafter-failure-any\n"))
        #expect(console.hasSuffix("[relevo] Job result: failed\n"))
    }

    @Test func signalDeathFailsTheTask() async throws {
        let (outcome, console) = try await run([Support.shell("kill -9 $$")])
        #expect(outcome.result == .failed)
        #expect(outcome.tasks[0].exitStatus == .signaled(9))
        #expect(console.contains("[relevo] Task status: failed (signal 9) ("))
    }

    @Test func environmentPrecedenceIsVisibleToTheProcess() async throws {
        let environment = JobEnvironment.build(
            base: ["PATH": "/usr/bin:/bin", "X": "base", "ONLY_BASE": "b"],
            goVariables: ["GO_PIPELINE_NAME": "app"],
            environment: [.init(name: "X", value: "env"), .init(name: "Y", value: "env")],
            pipeline: [.init(name: "X", value: "pipeline")],
            stage: [.init(name: "X", value: "stage"), .init(name: "Z", value: "stage")],
            job: [.init(name: "X", value: "job"), .init(name: "GO_PIPELINE_NAME", value: "forged")])
        let (outcome, console) = try await run(
            [Support.shell(#"echo "X=$X Y=$Y Z=$Z B=$ONLY_BASE GO=$GO_PIPELINE_NAME""#)],
            environment: environment.variables)
        #expect(outcome.result == .passed)
        #expect(console.contains("\nX=job Y=env Z=stage B=b GO=app\n"))
    }

    @Test func secureValuesAreMaskedEvenWhenSplitAcrossChunks() async throws {
        let secret = "s3cr3t-Value"
        // The child writes the secret in two pieces with a pause between, so the runner reads
        // them as separate chunks; stderr and the task line are masked too.
        let script = "printf 'token=s3cr'; sleep 0.3; printf '3t-Value end\\n'; echo s3cr3t-Value >&2"
        let (outcome, console) = try await run(
            [Support.shell(script), Support.exec("/bin/echo", "arg:\(secret)")], secureValues: [secret])
        #expect(outcome.result == .passed)
        #expect(!console.contains(secret))
        #expect(console.contains("\ntoken=****** end\n******\n"))
        #expect(console.contains("[relevo] Task: /bin/echo arg:******\n"))
        #expect(console.components(separatedBy: "******").count - 1 == 5)  // script line, stdout, stderr, echo line and output
    }

    @Test func workingDirectoryMayNotLeaveTheJobDirectory() async throws {
        let directory = try Support.jobDirectory()
        try FileManager.default.createDirectory(atPath: directory + "/sub/inner", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory + "/escape", withDestinationPath: "/tmp")
        let (outcome, console) = try await run(
            [
                Support.exec("/bin/pwd", directory: "sub/./inner/.."),
                Support.exec("/bin/pwd", runIf: .any, directory: "../outside"),
                Support.exec("/bin/pwd", runIf: .any, directory: "/etc"),
                Support.exec("/bin/pwd", runIf: .any, directory: "escape"),
            ], directory: directory)
        #expect(outcome.result == .failed)
        #expect(outcome.tasks.map(\.outcome) == [.passed, .failed, .failed, .failed])
        #expect(outcome.tasks.dropFirst().allSatisfy { $0.failure?.code == .workingDirectoryOutsideJob })
        #expect(console.contains("\n\(directory)/sub\n"))
        #expect(console.contains("[relevo] working directory '../outside' is outside the job's directory \(directory)\n"))
        #expect(console.contains("[relevo] working directory '/etc' is outside the job's directory"))
        #expect(console.contains("[relevo] working directory 'escape' is outside the job's directory"))
    }

    @Test func missingCommandFailsTheJobWithAClearLine() async throws {
        let (outcome, console) = try await run([
            Support.exec("relevo-no-such-command", "x"),
            Support.exec("/bin/echo", "cleanup", runIf: .any),
        ])
        #expect(outcome.result == .failed)
        #expect(outcome.tasks[0].outcome == .failed)
        #expect(outcome.tasks[0].exitStatus == nil)
        #expect(outcome.tasks[0].failure?.code == .cannotRun)
        #expect(console.contains(
            "[relevo] cannot run 'relevo-no-such-command': no such file in PATH /usr/bin:/bin\n[relevo] Task status: failed ("))
        #expect(outcome.tasks[1].outcome == .passed)
    }

    @Test func outputWithoutNewlineDoesNotGlueToRelevoLines() async throws {
        let (_, console) = try await run([Support.shell("printf partial")])
        #expect(console.contains("\npartial\n[relevo] Task status: passed"))
    }

    @Test func fetchTasksGoToTheHandler() async throws {
        let fetched = FetchLog()
        let fetch = FetchTask(pipeline: "upstream", stage: "build", job: "rpm", source: "pkg", destination: "in")
        let failing = FetchTask(stage: "build", job: "rpm", source: "missing.rpm", isFile: true)
        let (outcome, console) = try await run(
            [.fetch(fetch), .fetch(failing)],
            fetch: { task in
                await fetched.add(task)
                if task.source == "missing.rpm" { throw FetchLog.NotFound() }
            })
        #expect(await fetched.tasks == [fetch, failing])
        #expect(outcome.result == .failed)
        #expect(outcome.tasks.map(\.outcome) == [.passed, .failed])
        #expect(outcome.tasks[0].command == "fetch")
        #expect(outcome.tasks[1].failure?.code == .fetchFailed)
        #expect(console.contains("[relevo] Task: fetch directory pkg from upstream/build/rpm into in\n"))
        #expect(console.contains("artifact not found"))
    }
}

private actor FetchLog {
    struct NotFound: Error, CustomStringConvertible {
        var description: String { "artifact not found" }
    }

    var tasks: [FetchTask] = []
    func add(_ task: FetchTask) { tasks.append(task) }
}
