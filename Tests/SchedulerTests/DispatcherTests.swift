import Foundation
import Shared
import Testing

@testable import Scheduler

/// Runs by pipeline and counter, from a dictionary: the store as dispatch sees it.
struct RunTable: PipelineRunLookup {
    var runs: [String: PipelineRun]

    init(_ runs: [PipelineRun]) {
        self.runs = Dictionary(uniqueKeysWithValues: runs.map { ("\($0.pipelineName)/\($0.counter)", $0) })
    }

    func pipelineRun(_ pipeline: String, counter: Int) async throws(StoreError) -> PipelineRun? { runs["\(pipeline)/\(counter)"] }
}

/// The dispatcher builds each job's whole message in one place (no broker, no database).
@Suite struct DispatcherTests {
    /// `up`: stage `build` with job `rpm`.
    static let upstream = Fixture.pipeline("up", stages: [Fixture.stage("build", jobs: [Fixture.job("rpm")])])

    /// `down`: depends on `up`'s `build`; `deploy` fetches `up`'s RPMs, runs serialised, in `dev`.
    static let downstream = PipelineDefinition(
        name: "down", environmentVariables: [EnvironmentVariable(name: "LEVEL", value: "pipeline")],
        materials: [.git(GitMaterial(name: "src", url: "https://example.invalid/down.git")),
                    .dependency(DependencyMaterial(name: "up", pipeline: "up", stage: "build"))],
        stages: [Fixture.stage("deploy", jobs: [
            JobDefinition(name: "push", resources: ["Linux", "rpm"],
                          environmentVariables: [EnvironmentVariable(name: "LEVEL", value: "job")], serial: "createrepo-dev",
                          tasks: [.fetch(FetchTask(pipeline: "up", stage: "build", job: "rpm", source: "dist")),
                                  .fetch(FetchTask(pipeline: "elsewhere", stage: "build", job: "rpm", source: "dist")),
                                  .exec(ExecTask(command: "createrepo_c", arguments: ["."]))]),
        ])],
        environment: "dev", origin: ConfigLocation(file: "down.gocd.yaml", line: 1, column: 1))

    static let config = ConfigSnapshot(pipelines: [upstream, downstream],
                                       environments: [EnvironmentDefinition(name: "dev", environmentVariables: [
                                           EnvironmentVariable(name: "LEVEL", value: "environment"),
                                           EnvironmentVariable(name: "REPO", value: "/srv/dev")])])

    /// A dispatcher that reads `runs` only.
    static func dispatcher(_ runs: [PipelineRun]) -> Dispatcher {
        Dispatcher(builder: JobMessageBuilder(serverURL: "http://scheduler/go", token: { "token-for-\($0)#\($1)" }), runs: RunTable(runs))
    }

    /// Run 3 of `up`, whose `build` passed.
    static func passedUpstream() throws -> PipelineRun {
        var run = try PipelineRun(definition: upstream, counter: 3, cause: .manual(user: "ana"),
                                  materialRevisions: ["app": "abc"], createdAt: Fixture.t0)
        _ = try run.on(.created, at: Fixture.t0)
        try Fixture.apply(Fixture.lifecycle(Fixture.key("build", "rpm")), to: &run)
        return run
    }

    /// Run 1 of `down`, pinned to `up/3/build/1`, created (its `deploy/push` dispatched).
    static func downstreamRun() throws -> (PipelineRun, JobAttempt) {
        var run = try PipelineRun(definition: downstream, counter: 1, cause: .upstream(pipeline: "up", counter: 3, stage: "build"),
                                  materialRevisions: ["src": "feedface", "up": "up/3/build/1"], createdAt: Fixture.t0)
        let actions = try run.on(.created, at: Fixture.t0)
        guard case .dispatch(let attempt)? = actions.first else { throw SchedulingError(code: .notCreated, message: "no dispatch") }
        return (run, attempt)
    }

    @Test func theMessageIsWholeFetchesResolvedVariablesMergedQueueChosen() async throws {
        let upstreamRun = try Self.passedUpstream()
        let (run, attempt) = try Self.downstreamRun()
        let plans = await Self.dispatcher([upstreamRun, run]).plan([attempt], run: run, config: Self.config)
        guard case .publish(let job)? = plans.first, plans.count == 1 else { Issue.record("plans: \(plans)"); return }
        #expect(job.queue == "relevo.serial.createrepo-dev")
        let message = job.message
        #expect(message.jobRunID == JobRunID(pipeline: "down", pipelineCounter: 1, stage: "deploy", job: "push"))
        #expect(message.environment == "dev" && message.resources == ["linux", "rpm"])
        #expect(message.materials.map(\.revision) == ["feedface"])
        guard case .fetch(let fetch) = message.tasks[0], case .fetch(let orphan) = message.tasks[1] else {
            Issue.record("tasks: \(message.tasks)"); return
        }
        #expect(fetch.resolved == ArtifactLocator(pipeline: "up", pipelineCounter: 3, stage: "build", stageCounter: 1, job: "rpm"))
        #expect(orphan.resolved == nil && orphan.unresolvedReason?.contains("has no dependency on 'elsewhere'") == true)
        let variables = Dictionary(uniqueKeysWithValues: message.environmentVariables.map { ($0.name, $0.value) })
        #expect(variables["LEVEL"] == "job" && variables["REPO"] == "/srv/dev")
        #expect(variables["GO_DEPENDENCY_LABEL_UP"] == upstreamRun.label && variables["GO_DEPENDENCY_LOCATOR_UP"] == "up/3/build/1")
        // The token is not on the wire: the worker that holds the job gets it with its secrets.
        #expect(message.artifactToken == "")
        let secrets = try await Self.dispatcher([upstreamRun, run]).secrets(of: attempt, run: run, config: Self.config)
        #expect(secrets?.artifactToken == "token-for-down/1/deploy/1/push#1")
    }

    @Test func aJobTheConfigNoLongerHasIsPlannedAsMissing() async throws {
        let (run, attempt) = try Self.downstreamRun()
        var gone = attempt
        gone.jobRunID.job = "gone"
        let withoutDown = ConfigSnapshot(pipelines: [Self.upstream])
        #expect(await Self.dispatcher([run]).plan([gone], run: run, config: Self.config) == [.missingFromConfig(gone)])
        #expect(await Self.dispatcher([run]).plan([attempt], run: run, config: withoutDown) == [.missingFromConfig(attempt)])
    }

    @Test func anUpstreamRunThatCannotBeReadLeavesTheFetchUnresolvedWithTheReason() async throws {
        let (run, attempt) = try Self.downstreamRun()
        let plans = await Self.dispatcher([run]).plan([attempt], run: run, config: Self.config)
        guard case .publish(let job)? = plans.first, case .fetch(let fetch) = job.message.tasks[0] else { Issue.record("\(plans)"); return }
        #expect(fetch.resolved == nil && fetch.unresolvedReason == "instance up/3 no longer exists")
        // Without the upstream run the label falls back to its counter.
        #expect(job.message.environmentVariables.contains(EnvironmentVariable(name: "GO_DEPENDENCY_LABEL_UP", value: "3")))
    }
}
