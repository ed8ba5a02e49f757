import Foundation
import Shared
import Testing

/// Tasks started under `relevo-task-supervisor` behave as if started directly (output, exit
/// code, signals, cancel), and die with the process that started them.
@Suite struct SupervisedProcessTests {
    typealias Support = ProcessTestSupport

    private static let supervisor = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/relevo-task-supervisor").path

    private var runner: ProcessRunner { ProcessRunner(supervisor: Self.supervisor) }

    @Test func outputAndExitCodePassThrough() async throws {
        let process = try runner.start(Support.shell("echo out; echo err >&2; exit 7"))
        let collected = await Support.collect(process)
        #expect(collected.stdout == "out\n" && collected.stderr == "err\n")
        #expect(collected.status == .exited(7))
    }

    @Test func aTaskKilledByASignalIsReportedSo() async throws {
        let process = try runner.start(Support.shell("kill -9 $$"))
        #expect(await Support.collect(process).status == .signaled(SIGKILL))
    }

    @Test func cancellingStopsTheWholeGroup() async throws {
        let process = try runner.start(Support.shell("sleep 30 & echo $!; sleep 30"))
        var grandchild: Int32?
        for await chunk in process.output {
            grandchild = Int32(String(decoding: chunk.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            break
        }
        let status = await process.terminate(grace: .seconds(2))
        #expect(status == .signaled(SIGTERM))
        let pid = try #require(grandchild)
        #expect(await Support.eventually { Support.isGone(pid) })
    }

    @Test func theTaskDiesWithItsParent() async throws {
        // A shell plays the worker: it starts the supervised task in the background, prints the
        // task's pid, and is then SIGKILLed.
        let directory = try Support.temporaryDirectory()
        defer { Support.remove(directory) }
        let pidFile = directory + "/task.pid"
        let script = "\(Self.supervisor) $$ /bin/sh sh -c 'echo $$ > \(pidFile); sleep 60' & sleep 60"
        let parent = try ProcessRunner().start(Support.shell(script, in: directory))
        #expect(await Support.eventually { FileManager.default.fileExists(atPath: pidFile) && ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").hasSuffix("\n") })
        let task = try #require(Int32((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(!Support.isGone(task))
        kill(parent.pid, SIGKILL)
        #expect(await Support.eventually(timeout: .seconds(5)) { Support.isGone(task) }, "the task outlived its parent")
        _ = await parent.terminate(grace: .seconds(1))
    }

    @Test func aMissingProgramIsStillRefusedBeforeStarting() {
        let spec = ProcessSpec(executable: "/no/such/program", environment: [:], workingDirectory: "/")
        let error = #expect(throws: ProcessError.self) { try runner.start(spec) }
        #expect(error?.code == .programNotFound)
    }
}
