import Foundation
import Shared
import Testing

@testable import Scheduler

/// A stage's state derived from its jobs (GoCD's `StageState.findByBuilds`) and its gate.
struct StageStateTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var jobs: [(JobState, JobResult)]
        var expected: StageState
        var testDescription: String {
            jobs.map { "\($0.0.rawValue)/\($0.1.rawValue)" }.joined(separator: ",") + " → \(expected.rawValue)"
        }
    }

    static let cases: [Case] = [
        Case(jobs: [(.scheduled, .unknown)], expected: .building),
        Case(jobs: [(.assigned, .unknown), (.building, .unknown)], expected: .building),
        Case(jobs: [(.completed, .passed), (.building, .unknown)], expected: .building),
        Case(jobs: [(.completed, .failed), (.scheduled, .unknown)], expected: .building),
        Case(jobs: [(.completed, .passed)], expected: .passed),
        Case(jobs: [(.completed, .passed), (.completed, .passed)], expected: .passed),
        Case(jobs: [(.completed, .passed), (.completed, .failed)], expected: .failed),
        Case(jobs: [(.completed, .failed), (.completed, .failed)], expected: .failed),
        Case(jobs: [(.completed, .failed), (.completed, .cancelled)], expected: .cancelled),
        Case(jobs: [(.completed, .passed), (.completed, .cancelled)], expected: .cancelled),
    ]

    @Test(arguments: cases)
    func derivedFromJobs(_ testCase: Case) {
        let jobs = testCase.jobs.enumerated().map { index, pair in
            var job = JobRun.scheduled(name: "j", runIndex: index + 1, runCount: testCase.jobs.count, at: Fixture.t0)
            job.state = pair.0
            job.result = pair.1
            return job
        }
        #expect(StageState.derived(from: jobs) == testCase.expected)
        var stage = StageRun(
            definition: Fixture.stage("s", jobs: [Fixture.job("j", instances: jobs.count)]), counter: 1,
            createdAt: Fixture.t0, runOnAllCount: { _ in 1 })
        stage.activation = .started
        stage.jobs = jobs
        #expect(stage.state == testCase.expected)
        #expect(stage.result == testCase.expected.result)
    }

    @Test(arguments: [
        (StageRun.Activation.pending, StageState.pending),
        (.awaitingApproval, .awaitingApproval),
        (.cancelled, .cancelled),
    ])
    func beforeItStartsTheGateDecides(_ activation: StageRun.Activation, _ expected: StageState) {
        var stage = StageRun(
            definition: Fixture.stage("s", jobs: [Fixture.job("j")]), counter: 1, createdAt: Fixture.t0,
            runOnAllCount: { _ in 1 })
        stage.activation = activation
        #expect(stage.state == expected)
    }
}
