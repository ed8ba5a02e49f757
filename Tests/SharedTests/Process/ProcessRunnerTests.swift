import Foundation
import Shared
import Testing

@Suite struct ProcessRunnerTests {
    let runner = ProcessRunner()
    typealias Support = ProcessTestSupport

    @Test func streamsStdoutInOrder() async throws {
        let process = try runner.start(Support.shell("for i in 1 2 3 4 5; do echo line$i; done"))
        let collected = await Support.collect(process)
        #expect(collected.stdout == "line1\nline2\nline3\nline4\nline5\n")
        #expect(collected.stderr == "")
        #expect(collected.status == .exited(0))
    }

    @Test func deliversOutputWhileTheProcessRuns() async throws {
        let process = try runner.start(Support.shell("echo first; exec sleep 30"))
        var iterator = process.output.makeAsyncIterator()
        let chunk = await iterator.next()
        #expect(chunk?.text == "first\n")
        #expect(!process.hasExited)
        #expect(await process.terminate(grace: .seconds(5)) == .signaled(SIGTERM))
    }

    @Test func separatesStderrFromStdout() async throws {
        let process = try runner.start(Support.shell("echo out; echo err >&2; echo out2"))
        let collected = await Support.collect(process)
        #expect(collected.stdout == "out\nout2\n")
        #expect(collected.stderr == "err\n")
    }

    @Test(arguments: [0, 1, 3, 255] as [Int32])
    func reportsTheExitCode(code: Int32) async throws {
        let process = try runner.start(Support.shell("exit \(code)"))
        #expect(await Support.collect(process).status == .exited(code))
    }

    @Test func reportsDeathBySignal() async throws {
        let process = try runner.start(Support.shell("kill -9 $$"))
        #expect(await process.waitForExit() == .signaled(SIGKILL))
    }

    @Test func passesExactlyTheGivenEnvironment() async throws {
        let environment = ["PATH": "/usr/bin:/bin", "RELEVO_A": "1", "RELEVO_B": "two words", "EMPTY": ""]
        let spec = ProcessSpec(executable: "env", environment: environment, workingDirectory: "/")
        let collected = await Support.collect(try runner.start(spec))
        let lines = Set(collected.stdout.split(separator: "\n").map(String.init))
        #expect(lines == ["PATH=/usr/bin:/bin", "RELEVO_A=1", "RELEVO_B=two words", "EMPTY="])
    }

    @Test func startsInTheWorkingDirectory() async throws {
        let directory = try Support.temporaryDirectory()
        defer { Support.remove(directory) }
        let spec = ProcessSpec(executable: "/bin/pwd", arguments: ["-P"], environment: [:], workingDirectory: directory)
        let collected = await Support.collect(try runner.start(spec))
        let expected = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        #expect(collected.stdout == expected + "\n")
    }

    @Test func stdinIsEmpty() async throws {
        let collected = await Support.collect(try runner.start(Support.shell("cat; echo end")))
        #expect(collected.stdout == "end\n")
    }

    @Test func missingProgramIsAClearError() throws {
        let spec = ProcessSpec(executable: "mvnx", environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/")
        let error = #expect(throws: ProcessError.self) { try runner.start(spec) }
        #expect(error?.code == .programNotFound)
        #expect(error?.message == "cannot run 'mvnx': no such file in PATH /usr/bin:/bin")
        #expect(error?.isRetriable == false)
    }

    @Test func missingPathProgramAndDirectoryAreClearErrors() throws {
        let missingFile = ProcessSpec(executable: "/nonexistent/tool", environment: [:], workingDirectory: "/")
        #expect(throws: ProcessError.self) { try runner.start(missingFile) }
        let notExecutable = ProcessSpec(executable: "/etc/hostname", environment: [:], workingDirectory: "/")
        let error = #expect(throws: ProcessError.self) { try runner.start(notExecutable) }
        #expect(error?.code == .notExecutable)
        let missingDirectory = ProcessSpec(executable: "/bin/true", environment: [:], workingDirectory: "/nonexistent/dir")
        let directoryError = #expect(throws: ProcessError.self) { try runner.start(missingDirectory) }
        #expect(directoryError?.code == .workingDirectoryMissing)
        #expect(directoryError?.message.contains("/nonexistent/dir") == true)
    }

    @Test func terminateKillsTheWholeTree() async throws {
        let process = try runner.start(Support.shell("sleep 30 & echo $!; sleep 30"))
        var iterator = process.output.makeAsyncIterator()
        let first = await iterator.next()
        let grandchild = try #require(Int32(first?.text.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        #expect(!Support.isGone(grandchild))
        let started = ContinuousClock.now
        let status = await process.terminate(grace: .seconds(5))
        #expect(status == .signaled(SIGTERM), "SIGTERM ended it: the grace period did not have to run out")
        #expect(ContinuousClock.now - started < .seconds(25), "it did not wait for the 30 s sleep")
        #expect(await Support.eventually { Support.isGone(grandchild) })
    }

    @Test func terminateEscalatesToKillAfterTheGrace() async throws {
        let process = try runner.start(Support.shell("trap '' TERM; echo ready; while :; do sleep 1; done"))
        var iterator = process.output.makeAsyncIterator()
        #expect(await iterator.next()?.text == "ready\n")
        #expect(await process.terminate(grace: .milliseconds(300)) == .signaled(SIGKILL))
    }

    @Test func terminateIsSafeToRepeatAndAfterTheEnd() async throws {
        let process = try runner.start(Support.shell("exec sleep 30"))
        async let first = process.terminate(grace: .seconds(5))
        async let second = process.terminate(grace: .seconds(5))
        let statuses = await [first, second]
        #expect(statuses == [.signaled(SIGTERM), .signaled(SIGTERM)])
        #expect(await process.terminate(grace: .seconds(1)) == .signaled(SIGTERM))
    }

    @Test func childEndIsSeenWhileAGrandchildHoldsThePipes() async throws {
        let started = ContinuousClock.now
        let process = try runner.start(Support.shell("sleep 30 & echo $!; echo done"))
        let collected = await Support.collect(process)
        #expect(ContinuousClock.now - started < .seconds(25), "the end was seen without waiting for the grandchild's 30 s sleep")
        #expect(collected.status == .exited(0))
        let lines = collected.stdout.split(separator: "\n")
        #expect(lines.last == "done")
        let grandchild = try #require(lines.first.flatMap { Int32($0) })
        #expect(await Support.eventually { Support.isGone(grandchild) })
    }

    @Test func runHandsChunksToTheCallback() async throws {
        let chunks = Chunks()
        let status = try await runner.run(Support.shell("echo a; echo b >&2")) { await chunks.add($0) }
        #expect(status == .exited(0))
        let received = await chunks.all
        #expect(received.filter { $0.source == .stdout }.map(\.text).joined() == "a\n")
        #expect(received.filter { $0.source == .stderr }.map(\.text).joined() == "b\n")
    }

    @Test func cancellingRunTerminatesTheChild() async throws {
        let runner = self.runner
        let started = ContinuousClock.now
        let task = Task { try await runner.run(Support.shell("exec sleep 30"), grace: .seconds(5)) }
        task.cancel()
        #expect(try await task.value == .signaled(SIGTERM), "SIGTERM ended it: the grace period did not have to run out")
        #expect(ContinuousClock.now - started < .seconds(25), "it did not wait for the 30 s sleep")
    }
}

/// Collects chunks handed to a callback.
private actor Chunks {
    var all: [ProcessOutput] = []
    func add(_ chunk: ProcessOutput) { all.append(chunk) }
}
