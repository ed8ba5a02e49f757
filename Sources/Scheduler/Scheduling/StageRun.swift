import Foundation
import Shared

/// One run of one stage of a pipeline run (GoCD's stage instance). Its state is derived from
/// its approval gate and, once started, from its jobs.
struct StageRun: Sendable, Equatable, Codable {
    /// How far the stage got before its jobs take over its state.
    enum Activation: String, Sendable, Codable, CaseIterable {
        /// Not reached yet.
        case pending
        /// Reached; waits for a manual approval.
        case awaitingApproval
        /// Its jobs were dispatched; its state is theirs.
        case started
        /// Cancelled before it started.
        case cancelled
    }

    /// The stage's name.
    var name: String
    /// Which run of the stage this is in its pipeline run: 1, then one more per re-run.
    var counter: Int
    /// Whether the stage starts by itself or waits for a person.
    var approvalType: ApprovalDefinition.ApprovalType
    /// For a manual stage: approval is allowed only once the previous stage has passed.
    var allowOnlyOnSuccess: Bool
    /// Who approved the stage, for a manual stage that has been approved.
    var approvedBy: String?
    /// When it was approved.
    var approvedAt: Date?
    /// The jobs the stage runs when it starts.
    var jobPlans: [JobPlan]
    /// How far the stage got before its jobs take over.
    var activation: Activation
    /// One run per job copy, created when the stage starts; empty before.
    var jobs: [JobRun]
    /// When the pipeline run, and so this stage run, was created.
    var createdAt: Date
    /// When the stage ended.
    var completedAt: Date?
    /// For a re-run (GoCD's `GO_RERUN_OF_STAGE_COUNTER`): the counter of the run it repeats.
    var rerunOfCounter: Int?

    /// A stage run not reached yet, planned from its definition.
    init(definition: StageDefinition, counter: Int, createdAt: Date, runOnAllCount: (JobDefinition) -> Int) {
        self.init(
            name: definition.name, counter: counter, approvalType: definition.approval.type,
            allowOnlyOnSuccess: definition.approval.allowOnlyOnSuccess, approvedBy: nil, approvedAt: nil,
            jobPlans: definition.jobs.map { job in
                switch job.runInstances {
                case .count(let count): JobPlan(name: job.name, runCount: max(1, count))
                case .all: JobPlan(name: job.name, runCount: max(1, runOnAllCount(job)))
                }
            },
            activation: .pending, jobs: [], createdAt: createdAt, completedAt: nil)
    }

    /// Restores a stage run as stored.
    init(
        name: String, counter: Int, approvalType: ApprovalDefinition.ApprovalType, allowOnlyOnSuccess: Bool,
        approvedBy: String?, approvedAt: Date?, jobPlans: [JobPlan], activation: Activation, jobs: [JobRun],
        createdAt: Date, completedAt: Date?, rerunOfCounter: Int? = nil
    ) {
        self.name = name
        self.counter = counter
        self.approvalType = approvalType
        self.allowOnlyOnSuccess = allowOnlyOnSuccess
        self.approvedBy = approvedBy
        self.approvedAt = approvedAt
        self.jobPlans = jobPlans
        self.activation = activation
        self.jobs = jobs
        self.createdAt = createdAt
        self.completedAt = completedAt
        self.rerunOfCounter = rerunOfCounter
    }

    /// The stage's state: its gate until it starts, then derived from its jobs.
    var state: StageState {
        switch activation {
        case .pending: .pending
        case .awaitingApproval: .awaitingApproval
        case .cancelled: .cancelled
        case .started: .derived(from: jobs)
        }
    }

    /// How the stage ended, `nil` while it has not.
    var result: StageResult? { state.result }

    /// Whether a person must approve the stage before it starts.
    var isManual: Bool { approvalType == .manual }

    /// The index in ``jobs`` of the run with this name and run index.
    func jobIndex(named name: String, runIndex: Int) -> Int? {
        jobs.firstIndex { $0.name == name && $0.runIndex == runIndex }
    }

    /// Whether the plan has a job copy with this name and run index.
    func plans(job name: String, runIndex: Int) -> Bool {
        jobPlans.contains { $0.name == name && (1...$0.runCount).contains(runIndex) }
    }

    /// Whether this stage run has been started or cancelled, so that reaching the stage again
    /// (after a re-run of an earlier stage) needs a new stage run.
    var hasRun: Bool { activation == .started || activation == .cancelled }

    /// The next run of this stage, not reached yet: same plan, counter + 1.
    func nextRun(at now: Date) -> StageRun {
        StageRun(
            name: name, counter: counter + 1, approvalType: approvalType, allowOnlyOnSuccess: allowOnlyOnSuccess,
            approvedBy: nil, approvedAt: nil, jobPlans: jobPlans, activation: .pending, jobs: [], createdAt: now,
            completedAt: nil)
    }

    /// Starts the stage: one scheduled job run per planned copy, in plan order.
    mutating func start(at now: Date) {
        activation = .started
        jobs = jobPlans.flatMap { plan in
            (1...plan.runCount).map { index in
                JobRun.scheduled(name: plan.name, runIndex: index, runCount: plan.runCount, at: now)
            }
        }
    }
}
