import Foundation
import Shared
import Testing

@Suite struct MessageCodecTests {
    private func sampleJob() -> JobMessage {
        JobMessage(jobRunID: "nagios/3/package/1/rpm/1", pipeline: "nagios", pipelineCounter: 3, pipelineLabel: "3-abc1234",
                   stage: "package", stageCounter: 1, job: "rpm", environment: "dev", resources: ["linux", "rpm"],
                   materials: [MaterialCheckout(name: "src", url: "file:///repos/check.git", branch: "main", revision: String(repeating: "a", count: 40))],
                   tasks: [.exec(ExecTask(command: "make", arguments: ["rpm"]))],
                   environmentVariables: [EnvironmentVariable(name: "TOKEN", value: "s3cret", secure: true)],
                   artifacts: [ArtifactDefinition(type: .build, source: "dist/*.rpm", destination: "rpms")],
                   inactivityTimeoutSeconds: 600, serverURL: "http://127.0.0.1:8153/go", artifactToken: "tok")
    }

    @Test func jobMessagesRoundTripWithSecureValuesIntact() throws {
        let job = sampleJob()
        let decoded = try MessageCodec.decodeJob(MessageCodec.encode(job))
        #expect(decoded == job)
        #expect(decoded.environmentVariables.first?.value == "s3cret")
        #expect(job.queueName(serialKey: nil) == "relevo.jobs.dev.linux+rpm")
        #expect(job.queueName(serialKey: "createrepo-dev") == "relevo.serial.createrepo-dev")
    }

    @Test func eventsRoundTrip() throws {
        let attempt = JobAttempt(jobRunID: "p/1/s/1/j/1", attempt: 2)
        let agent = AgentIdentity(uuid: "u", name: "w1", resources: ["Linux"], environments: ["PRO"], slots: 2)
        let events: [WorkerEvent] = [
            .accepted(attempt, agent: agent), .started(attempt, agent: agent), .taskStarted(attempt, index: 0),
            .console(attempt, sequence: 7, text: "hello\n"), .finished(attempt, result: .failed),
            .heartbeat(agent, busyJobs: ["p/1/s/1/j/1"], catalogVersion: 3),
        ]
        for event in events {
            #expect(try MessageCodec.decodeEvent(MessageCodec.encode(event)) == event)
        }
        #expect(agent.resources == ["linux"] && agent.environments == ["pro"])
    }

    @Test(arguments: [
        ("not json", "not valid JSON"),
        ("{}", "lacks"),
        ("{\"version\": 99}", "lacks"),
    ])
    func badBodiesGiveAReasonForTheDeadLetterQueue(_ body: String, _ reason: String) {
        #expect {
            _ = try MessageCodec.decodeJob(Array(body.utf8))
        } throws: { error in
            (error as? MessageCodec.DecodingFailure)?.description.contains(reason) == true
        }
    }

    @Test func anUnknownVersionIsRefused() throws {
        var job = sampleJob()
        job.version = 2
        #expect {
            _ = try MessageCodec.decodeJob(MessageCodec.encode(job))
        } throws: { error in
            (error as? MessageCodec.DecodingFailure)?.description.contains("version 2 is not supported") == true
        }
    }

    @Test func aFinishedEventCarriesTheConsoleTailAndOlderOnesWithoutItStillDecode() throws {
        let attempt = JobAttempt(jobRunID: "p/1/s/1/j/1", attempt: 2)
        let event = WorkerEvent.finished(attempt, result: .passed, console: ConsoleChunk(sequence: 3, text: "done\n"))
        #expect(try MessageCodec.decodeEvent(MessageCodec.encode(event)) == event)
        let older = #"{"finished":{"_0":{"jobRunID":"p/1/s/1/j/1","attempt":2},"result":"failed"}}"#
        #expect(try MessageCodec.decodeEvent(Array(older.utf8)) == .finished(attempt, result: .failed))
    }

    @Test(arguments: ["p/1/s/1/j/1", "quote \" back\\ slash / tab\t nl\n", "\u{01}\u{1F}\u{7F} déploiement 🚀", ""])
    func eventsWrittenDirectlyAreWhatJSONEncoderWrites(_ text: String) throws {
        let attempt = JobAttempt(jobRunID: text, attempt: 3)
        var agent = AgentIdentity(uuid: "u-\(text)", name: text, resources: ["linux", text], environments: ["pro"], slots: 4)
        var events: [WorkerEvent] = [
            .accepted(attempt, agent: agent), .started(attempt, agent: agent), .taskStarted(attempt, index: 2),
            .console(attempt, sequence: 7, text: text), .finished(attempt, result: .failed),
            .finished(attempt, result: .passed, console: ConsoleChunk(sequence: 9, text: text)),
            .heartbeat(agent, busyJobs: [text, "b"], catalogVersion: 12), .heartbeat(agent, busyJobs: [], catalogVersion: 0),
        ]
        agent.appliedResources = ["gpu", text]
        agent.appliedEnvironments = []
        events += [.started(attempt, agent: agent), .heartbeat(agent, busyJobs: [], catalogVersion: 1)]
        for event in events {
            let direct = MessageCodec.encodeEvent(event)
            // The same JSON value as JSONEncoder's (whose key order is unspecified), and the same event.
            let written = try JSONSerialization.jsonObject(with: Data(direct)) as? NSDictionary
            let encoded = try JSONSerialization.jsonObject(with: Data(MessageCodec.encode(event))) as? NSDictionary
            #expect(written != nil && written == encoded, "\(String(decoding: direct, as: UTF8.self))")
            #expect(try MessageCodec.decodeEvent(direct) == event)
        }
    }
}
