import Foundation
import Shared
import Testing

@Suite struct MessageCodecTests {
    private func sampleJob() -> JobMessage {
        JobMessage(jobRunID: JobRunID(pipeline: "nagios", pipelineCounter: 3, stage: "package", job: "rpm"), pipelineLabel: "3-abc1234",
                   environment: "dev", resources: ["linux", "rpm"],
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
        let attempt = JobAttempt(jobRunID: JobRunID(pipeline: "p", pipelineCounter: 1, stage: "s", job: "j"), attempt: 2)
        let agent = AgentIdentity(uuid: "u", name: "w1", resources: ["Linux"], environments: ["PRO"], slots: 2)
        let events: [WorkerEvent] = [
            .accepted(attempt, agent: agent), .started(attempt, agent: agent), .taskStarted(attempt, index: 0),
            .console(attempt, sequence: 7, text: "hello\n"), .finished(attempt, result: .failed),
            .heartbeat(agent, busyJobs: [JobRunID(pipeline: "p", pipelineCounter: 1, stage: "s", job: "j")], catalogVersion: 3),
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
        job.version = JobMessage.currentVersion + 1
        #expect {
            _ = try MessageCodec.decodeJob(MessageCodec.encode(job))
        } throws: { error in
            (error as? MessageCodec.DecodingFailure)?.description.contains("version \(JobMessage.currentVersion + 1) is not supported") == true
        }
    }

    @Test func aFinishedEventCarriesTheConsoleTailAndOlderOnesWithoutItStillDecode() throws {
        let attempt = JobAttempt(jobRunID: JobRunID(pipeline: "p", pipelineCounter: 1, stage: "s", job: "j"), attempt: 2)
        let event = WorkerEvent.finished(attempt, result: .passed, console: ConsoleChunk(sequence: 3, text: "done\n"))
        #expect(try MessageCodec.decodeEvent(MessageCodec.encode(event)) == event)
        let older = #"{"finished":{"_0":{"jobRunID":"p/1/s/1/j/1","attempt":2},"result":"failed"}}"#
        #expect(try MessageCodec.decodeEvent(Array(older.utf8)) == .finished(attempt, result: .failed))
    }

    @Test(arguments: ["p/1/s/1/j/1", "quote \" back\\ slash / tab\t nl\n", "\u{01}\u{1F}\u{7F} déploiement 🚀", ""])
    func eventsWrittenDirectlyAreWhatJSONEncoderWrites(_ text: String) throws {
        let attempt = JobAttempt(jobRunID: .named(text), attempt: 3)
        var agent = AgentIdentity(uuid: "u-\(text)", name: text, resources: ["linux", text], environments: ["pro"], slots: 4)
        var events: [WorkerEvent] = [
            .accepted(attempt, agent: agent), .started(attempt, agent: agent), .taskStarted(attempt, index: 2),
            .console(attempt, sequence: 7, text: text), .finished(attempt, result: .failed),
            .finished(attempt, result: .passed, console: ConsoleChunk(sequence: 9, text: text)),
            .heartbeat(agent, busyJobs: [.named(text), .named("b")], catalogVersion: 12), .heartbeat(agent, busyJobs: [], catalogVersion: 0),
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

/// The scheduler reads worker events with a small JSON reader of its own: it must read what
/// JSONDecoder reads, and leave to JSONDecoder (nil) whatever it would refuse.
@Suite struct DirectEventReadingTests {
    static func sampleEvents(_ text: String) -> [WorkerEvent] {
        let attempt = JobAttempt(jobRunID: .named(text), attempt: 3)
        var agent = AgentIdentity(uuid: "u-\(text)", name: text, resources: ["linux", text], environments: ["pro"], slots: 4)
        var events: [WorkerEvent] = [
            .accepted(attempt, agent: agent), .started(attempt, agent: agent), .taskStarted(attempt, index: 0),
            .console(attempt, sequence: Int.max, text: text), .finished(attempt, result: .cancelled),
            .finished(attempt, result: .passed, console: ConsoleChunk(sequence: 9, text: text)),
            .heartbeat(agent, busyJobs: [.named(text), .named("b")], catalogVersion: -12), .heartbeat(agent, busyJobs: [], catalogVersion: 0),
        ]
        agent.appliedResources = ["gpu", text]
        agent.appliedEnvironments = []
        // Not normalised (Codable's decoding takes values as sent).
        agent.resources = ["Upper", "b", "a"]
        events += [.started(attempt, agent: agent), .heartbeat(agent, busyJobs: [], catalogVersion: 1)]
        return events
    }

    @Test(arguments: ["p/1/s/1/j/1", "quote \" back\\ slash / tab\t nl\n \u{01}\u{1F}\u{7F}", "déploiement 🚀 e\u{301}", ""])
    func eventsReadDirectlyEqualJSONDecoders(_ text: String) throws {
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        for event in Self.sampleEvents(text) {
            for body in [MessageCodec.encode(event), MessageCodec.encodeEvent(event), Array(try pretty.encode(event))] {
                let direct = WorkerEvent(directJSON: body)
                #expect(direct == event, "\(String(decoding: body, as: UTF8.self))")
                #expect(direct == (try JSONDecoder().decode(WorkerEvent.self, from: Data(body))))
            }
        }
    }

    @Test func escapesNullsAndUnknownKeysAreReadAsJSONDecoderReadsThem() throws {
        let bodies = [
            #"{"console":{"_0":{"jobRunID":"p\/1\/s\/1\/caf\u00e9 \ud83d\ude80 \"q\"\/1","attempt":1},"sequence":0,"text":"\b\f\n\r\t\\"}}"#,
            #"{"finished":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":1},"result":"failed","console":null,"later":{"field":[1,true,null]}}}"#,
            #" { "started" : { "agent" : { "uuid" : "u", "name" : "n", "resources" : [ ], "environments" : [ "E" ], "slots" : 0, "appliedResources" : null } , "_0" : { "attempt" : -1 , "jobRunID" : "p/1/s/1/j/1" } } } "#,
        ]
        for text in bodies {
            let body = Array(text.utf8)
            let direct = try #require(WorkerEvent(directJSON: body), "\(text)")
            #expect(direct == (try JSONDecoder().decode(WorkerEvent.self, from: Data(body))), "\(text)")
        }
    }

    @Test(arguments: [
        #"{"taskStarted":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":1.0},"index":0}}"#,
        #"{"taskStarted":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":1e0},"index":0}}"#,
        #"{"taskStarted":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":01},"index":0}}"#,
        #"{"taskStarted":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":1},"index":0,"index":1}}"#,
        #"{"taskStarted":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":99999999999999999999},"index":0}}"#,
        #"{"taskStarted":{"_0":{"jobRunID":"p/1/s/1/x\q/1","attempt":1},"index":0}}"#,
        #"{"taskStarted":{"_0":{"jobRunID":"p/1/s/1/\ud800/1","attempt":1},"index":0}}"#,
        "{\"taskStarted\":{\"_0\":{\"jobRunID\":\"p/1/s/1/tab\there/1\",\"attempt\":1},\"index\":0}}",
        #"{"taskStarted":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":1},"index":0}} trailing"#,
        #"{"taskStarted":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":1},"index":0},"finished":{}}"#,
        #"{"rebooted":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":1}}}"#,
        #"{"finished":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":1},"result":"exploded"}}"#,
        #"{"finished":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":1},"result":"passed","console":{"sequence":"1","text":""}}}"#,
        #"{"taskStarted":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":1}}}"#,
        #"[{"taskStarted":{"_0":{"jobRunID":"p/1/s/1/x/1","attempt":1},"index":0}}]"#,
        "not json", "", "{",
    ])
    func whatTheReaderDoesNotTakeGoesToJSONDecoder(_ text: String) {
        #expect(WorkerEvent(directJSON: Array(text.utf8)) == nil)
    }

    @Test func invalidUTF8IsLeftToJSONDecoder() {
        let body = Array(#"{"console":{"_0":{"jobRunID":"x","attempt":1},"sequence":0,"text":""#.utf8) + [0xC3, 0x28] + Array(#""}}"#.utf8)
        #expect(WorkerEvent(directJSON: body) == nil)
    }
}

/// The worker reads job messages with the same small reader: what it takes equals JSONDecoder's
/// reading; what it does not (fetch and on-cancel tasks, anything malformed) goes to JSONDecoder.
@Suite struct DirectJobReadingTests {
    static func jobs() -> [JobMessage] {
        let full = JobMessage(
            jobRunID: JobRunID(pipeline: "nagios", pipelineCounter: 3, stage: "package", job: "rpm", runIndex: 2),
            pipelineLabel: "3-abc1234", runCount: 3, environment: "dev", resources: ["linux", "rpm"],
            materials: [MaterialCheckout(name: "src", url: "file:///repos/check.git", branch: "main", revision: String(repeating: "a", count: 40)),
                        MaterialCheckout(name: "lib", url: "https://x/y.git", branch: "b/c", revision: "b", destination: "lib/é", shallowClone: true)],
            cleanWorkspace: true, fetchMaterials: false,
            tasks: [.exec(ExecTask(command: "make", arguments: ["rpm", "V=\"1\""])),
                    .exec(ExecTask(command: "/bin/sh", arguments: ["-c", "echo\t$X\n"], workingDirectory: "sub/dir", runIf: .failed))],
            environmentVariables: [EnvironmentVariable(name: "TOKEN", value: "s3cret", secure: true), EnvironmentVariable(name: "A", value: "")],
            artifacts: [ArtifactDefinition(type: .build, source: "dist/*.rpm", destination: "rpms"), ArtifactDefinition(type: .test, source: "t.xml")],
            inactivityTimeoutSeconds: 600, serverURL: "http://127.0.0.1:8153/go", artifactToken: "tok")
        var bare = JobMessage(jobRunID: JobRunID(pipeline: "p", pipelineCounter: 1, stage: "s", job: "j"), pipelineLabel: "1",
                              tasks: [], serverURL: "", artifactToken: "")
        bare.environment = nil
        return [full, bare]
    }

    @Test func jobsReadDirectlyEqualJSONDecoders() throws {
        for job in Self.jobs() {
            let body = MessageCodec.encode(job)
            let direct = try #require(JobMessage(directJSON: body), "\(String(decoding: body, as: UTF8.self))")
            #expect(direct == job)
            #expect(direct == (try JSONDecoder().decode(JobMessage.self, from: Data(body))))
            #expect(direct.environmentVariables.first?.value == job.environmentVariables.first?.value, "the codec keeps whatever value a variable has (the scheduler empties secure ones before publishing)")
        }
    }

    /// The job's JSON with one change made to it.
    private func edited(_ change: (inout [String: Any]) -> Void) throws -> [UInt8] {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(MessageCodec.encode(Self.jobs()[0]))) as? [String: Any])
        change(&object)
        return Array(try JSONSerialization.data(withJSONObject: object))
    }

    @Test func olderAndNullFieldsAreReadAsJSONDecoderReadsThem() throws {
        let body = try edited { object in
            object["environment"] = NSNull()
            object.removeValue(forKey: "inactivityTimeoutSeconds")
            object["environmentVariables"] = [["name": "OLD", "value": "v"]]
        }
        let direct = try #require(JobMessage(directJSON: body))
        #expect(direct == (try JSONDecoder().decode(JobMessage.self, from: Data(body))))
        #expect(direct.environment == nil && direct.inactivityTimeoutSeconds == nil && direct.environmentVariables.first?.secure == false)
    }

    @Test func fetchAndOnCancelTasksAndMissingFieldsGoToJSONDecoder() throws {
        let fetch = try edited { object in
            object["tasks"] = [["type": "fetch", "source": "a", "destination": "", "isFile": true, "runIf": "passed"]]
        }
        let onCancel = try edited { object in
            object["tasks"] = [["type": "exec", "command": "x", "arguments": [], "runIf": "passed",
                                "onCancel": ["type": "exec", "command": "y", "arguments": []]]]
        }
        let missing = try edited { object in object.removeValue(forKey: "artifactToken") }
        let wrongKind = try edited { object in object["cleanWorkspace"] = "yes" }
        for body in [fetch, onCancel, missing, wrongKind] {
            #expect(JobMessage(directJSON: body) == nil, "\(String(decoding: body, as: UTF8.self))")
        }
        // JSONDecoder still names what is wrong.
        #expect {
            _ = try MessageCodec.decodeJob(missing)
        } throws: { error in
            (error as? MessageCodec.DecodingFailure)?.description.contains("artifactToken") == true
        }
    }
}

extension JobRunID {
    /// A job run id whose job name carries `text` (with `/`, which no name can hold, replaced), for
    /// tests of how text is escaped.
    static func named(_ text: String) -> JobRunID {
        JobRunID(pipeline: "p", pipelineCounter: 1, stage: "s", stageCounter: 2, job: "j-" + text.replacingOccurrences(of: "/", with: "_"), runIndex: 3)
    }
}

/// One job run id across the package: typed in code, one string in JSON.
@Suite struct JobRunIDTests {
    @Test func itIsOneStringInJSONAndParsesBack() throws {
        let id = JobRunID(pipeline: "nagios", pipelineCounter: 3, stage: "package", stageCounter: 2, job: "rpm", runIndex: 4)
        let attempt = JobAttempt(jobRunID: id, attempt: 5)
        let body = String(decoding: try JSONEncoder().encode(attempt), as: UTF8.self)
        #expect(body.contains(#""jobRunID":"nagios\/3\/package\/2\/rpm\/4""#), "\(body)")
        #expect(try JSONDecoder().decode(JobAttempt.self, from: Data(body.utf8)) == attempt)
        #expect(JobRunID(parsing: id.description) == id)
        #expect(id.locator(runCount: 1) == "nagios/3/package/2/rpm")
        #expect(id.locator(runCount: 4) == "nagios/3/package/2/rpm-runInstance-4")
    }

    @Test(arguments: ["p/1/s/1/j", "p/x/s/1/j/1", "/1/s/1/j/1", "p/1/s/1/j/1/extra"])
    func anEventWithAMalformedJobRunIDIsRefusedWithTheReason(_ text: String) {
        let body = #"{"finished":{"_0":{"jobRunID":"# + "\"\(text)\"" + #","attempt":1},"result":"passed"}}"#
        #expect(WorkerEvent(directJSON: Array(body.utf8)) == nil)
        #expect {
            _ = try MessageCodec.decodeEvent(Array(body.utf8))
        } throws: { error in
            "\(error)".contains("is not a job run id")
        }
    }

    @Test func aVersion1JobMessageIsRefusedWithTheVersionInTheReason() throws {
        let job = JobMessage(jobRunID: JobRunID(pipeline: "p", pipelineCounter: 1, stage: "s", job: "j"), pipelineLabel: "1",
                             tasks: [], serverURL: "", artifactToken: "")
        var fields = try #require(try JSONSerialization.jsonObject(with: Data(MessageCodec.encode(job))) as? [String: Any])
        fields["version"] = 1
        let body = try JSONSerialization.data(withJSONObject: fields)
        #expect {
            _ = try MessageCodec.decodeJob(Array(body))
        } throws: { error in
            "\(error)".contains("version 1 is not supported")
        }
    }
}

@Suite struct JobSecretsContractTests {
    private var job: JobMessage {
        JobMessage(jobRunID: JobRunID(pipeline: "p", pipelineCounter: 1, stage: "s", job: "j"), pipelineLabel: "1",
                   tasks: [], environmentVariables: [EnvironmentVariable(name: "TOKEN", value: "s3cret", secure: true),
                                                     EnvironmentVariable(name: "PLAIN", value: "visible")],
                   serverURL: "http://127.0.0.1:8153/go", artifactToken: "t")
    }

    @Test func aPublishedMessageKeepsSecureNamesButNoValue() {
        let published = job.withoutSecrets()
        #expect(published.environmentVariables == [EnvironmentVariable(name: "TOKEN", value: "", secure: true),
                                                   EnvironmentVariable(name: "PLAIN", value: "visible")])
        #expect(!String(decoding: MessageCodec.encode(published), as: UTF8.self).contains("s3cret"))
        #expect(published.hasSecureVariables)
    }

    @Test func fetchedValuesFillOnlySecureVariablesByName() {
        let filled = job.withoutSecrets().filling(JobSecretsReply(environmentVariables: [
            EnvironmentVariable(name: "TOKEN", value: "fetched", secure: true),
            EnvironmentVariable(name: "PLAIN", value: "ignored", secure: true)]))
        #expect(filled.environmentVariables == [EnvironmentVariable(name: "TOKEN", value: "fetched", secure: true),
                                                EnvironmentVariable(name: "PLAIN", value: "visible")])
    }

    /// Issue #14: the artifact token and credentials in material URLs stay off the wire too.
    @Test func aPublishedMessageCarriesNoArtifactTokenNorMaterialCredentials() {
        var message = job
        message.materials = [MaterialCheckout(name: "src", url: "https://ghp_abc123@github.com/org/app.git", branch: "main", revision: "r"),
                             MaterialCheckout(name: "docs", url: "https://ana:pa55@git.example.org/docs.git", branch: "main", revision: "r"),
                             MaterialCheckout(name: "open", url: "https://github.com/org/open.git", branch: "main", revision: "r")]
        let published = message.withoutSecrets()
        let wire = String(decoding: MessageCodec.encode(published), as: UTF8.self)
        for secret in ["ghp_abc123", "pa55", "\"artifactToken\":\"t\""] { #expect(!wire.contains(secret), "\(secret) in \(wire)") }
        #expect(published.materials.map(\.credentialsWithheld) == [true, true, false])
        #expect(published.needsSecrets)
        let filled = published.filling(message.secrets)
        #expect(filled == message)
    }

    @Test func aJobWithNothingSecretNeedsNoRequest() {
        let plain = JobMessage(jobRunID: JobRunID(pipeline: "p", pipelineCounter: 1, stage: "s", job: "j"), pipelineLabel: "1",
                               tasks: [.exec(ExecTask(command: "true"))], serverURL: "http://s/go", artifactToken: "t")
        #expect(!plain.withoutSecrets().needsSecrets)
        var fetching = plain
        fetching.tasks.append(.fetch(FetchTask(stage: "build", job: "compile", source: "bin")))
        #expect(fetching.withoutSecrets().needsSecrets)
    }
}
