import Foundation
import Shared

/// The pipeline run's state machine (GoCD semantics): stages run in order, a stage's jobs in
/// parallel; a failed job never cancels its siblings; a failed stage stops the run unless the
/// next stage is manual without `allow_only_on_success`, in which case a person may still run it.
extension PipelineRun {
    /// Applies `event` at `now` and returns what the caller must do once the new state is stored.
    ///
    /// Stale events (an older attempt, or any event about a job whose result is recorded) and
    /// duplicates return no actions and change nothing.
    ///
    /// - Throws: ``SchedulingError`` when the event is illegal in the current state; the run is
    ///   then left unchanged.
    mutating func on(_ event: PipelineEvent, at now: Date) throws(SchedulingError) -> [PipelineAction] {
        var next = self
        let actions = try next.apply(event, at: now)
        self = next
        return actions
    }

    private mutating func apply(_ event: PipelineEvent, at now: Date) throws(SchedulingError) -> [PipelineAction] {
        if case .created = event { return try create(at: now) }
        guard state != .pending else { throw failure(.notCreated, "\(event) before the run was created") }
        switch event {
        case .created:
            return try create(at: now)
        case .jobAccepted(let key, let attempt, let agent):
            return try updateJob(key, event: event, at: now) { job throws(SchedulingError) in
                try job.accept(attempt: attempt, agent: agent, key: key, at: now)
            }
        case .jobStarted(let key, let attempt, let agent):
            return try updateJob(key, event: event, at: now) { job throws(SchedulingError) in
                try job.start(attempt: attempt, agent: agent, key: key, at: now)
            }
        case .jobFinished(let key, let attempt, let result, let agent):
            return try updateJob(key, event: event, at: now) { job throws(SchedulingError) in
                try job.finish(attempt: attempt, result: result, agent: agent, key: key, at: now)
            }
        case .jobAbandoned(let key, let attempt, let reason):
            let attemptBefore = job(key)?.attempt
            var actions = try updateJob(key, event: event, at: now) { job throws(SchedulingError) in
                try job.abandon(attempt: attempt, reason: reason, key: key, at: now)
            }
            // The next attempt goes out, unless the job has had its last one.
            if let stageIndex = stageIndex(named: key.stage, counter: key.stageCounter),
               let jobIndex = stages[stageIndex].jobIndex(named: key.job, runIndex: key.runIndex),
               case let job = stages[stageIndex].jobs[jobIndex], attemptBefore == attempt, job.state == .scheduled, job.attempt == attempt + 1 {
                actions.insert(.dispatch(self.attempt(of: job, in: stages[stageIndex])), at: 0)
            }
            return actions
        case .approve(let stage, let user):
            return try approve(stage: stage, user: user, at: now)
        case .cancel:
            return try cancel(at: now)
        case .rerun(let stage, let jobs, let user):
            return try rerun(stage: stage, selection: jobs, user: user, at: now)
        }
    }

    private mutating func create(at now: Date) throws(SchedulingError) -> [PipelineAction] {
        guard state == .pending else { throw failure(.alreadyCreated, "created twice") }
        return reach(stageAt: 0, at: now)
    }

    /// Applies a change to one dispatched job, then completes its stage if that was its last job.
    private mutating func updateJob(
        _ key: JobKey, event: PipelineEvent, at now: Date,
        change: (inout JobRun) throws(SchedulingError) -> Bool
    ) throws(SchedulingError) -> [PipelineAction] {
        guard let stageIndex = stageIndex(named: key.stage, counter: key.stageCounter) else {
            // A stage run that was run again had ended: a late event about it is stale.
            if previousStages.contains(where: { $0.name == key.stage && $0.counter == key.stageCounter }) { return [] }
            throw failure(.unknownStage, "\(event): no stage run \(key.stage)/\(key.stageCounter)")
        }
        guard let jobIndex = stages[stageIndex].jobIndex(named: key.job, runIndex: key.runIndex) else {
            let planned = stages[stageIndex].plans(job: key.job, runIndex: key.runIndex)
            throw failure(
                planned ? .jobNotDispatched : .unknownJob,
                planned ? "\(event): job \(key) was never dispatched" : "\(event): no job \(key)")
        }
        let stageWasCompleted = stages[stageIndex].state.isCompleted
        // `change` ignores or refuses any event about a completed job, so once the run has ended
        // a job event is either stale (no actions) or illegal (thrown).
        let changed: Bool
        do {
            changed = try change(&stages[stageIndex].jobs[jobIndex])
        } catch {
            throw failure(error.code, error.message)
        }
        guard changed else { return [] }
        guard !stageWasCompleted, stages[stageIndex].state.isCompleted else { return [] }
        return complete(stageAt: stageIndex, at: now)
    }

    private mutating func approve(stage name: String, user: String, at now: Date) throws(SchedulingError)
        -> [PipelineAction]
    {
        guard let index = stages.lastIndex(where: { $0.name == name }) else {
            throw failure(.unknownStage, "approve: no stage \(name)")
        }
        if stages[index].allowOnlyOnSuccess, index > 0, stages[index - 1].state.isCompleted,
            stages[index - 1].state != .passed
        {
            throw failure(
                .previousStageNotPassed,
                "approve \(name): allow_only_on_success and stage \(stages[index - 1].name) "
                    + "ended \(stages[index - 1].state.rawValue)")
        }
        if stages[index].state.isCompleted {
            throw failure(
                .stageNotAwaitingApproval,
                "approve \(name): the stage has run (\(stages[index].state.rawValue)); to run it again, "
                    + "re-run \(name)/\(stages[index].counter)")
        }
        guard !isCompleted else { throw failure(.pipelineCompleted, "approve \(name) after the run ended") }
        guard stages[index].activation == .awaitingApproval else {
            throw failure(
                .stageNotAwaitingApproval, "approve \(name): stage is \(stages[index].state.rawValue)")
        }
        stages[index].approvedBy = user
        stages[index].approvedAt = now
        return start(stageAt: index, at: now)
    }

    private mutating func cancel(at now: Date) throws(SchedulingError) -> [PipelineAction] {
        guard !isCompleted else { throw failure(.pipelineCompleted, "cancel after the run ended") }
        var actions: [PipelineAction] = []
        for index in stages.indices {
            let stage = stages[index]
            switch stage.state {
            case .building:
                for jobIndex in stage.jobs.indices where stages[index].jobs[jobIndex].cancel(at: now) {
                    actions.append(.cancelJob(jobRunID(of: stage.jobs[jobIndex], in: stage)))
                }
            case .awaitingApproval:
                stages[index].activation = .cancelled
            case .pending, .passed, .failed, .cancelled:
                continue
            }
            stages[index].completedAt = now
            actions.append(.stageCompleted(stage: stage.name, result: .cancelled))
        }
        return actions + completePipeline(at: now)
    }

    /// Runs an ended stage again as a new stage run (counter + 1), GoCD's way: the selected jobs
    /// are scheduled anew, the others are copied with their results from the run it repeats.
    /// When the new run passes, the following stages run again as well (GoCD's
    /// `automaticallyTriggerRelevantStagesFollowingCompletionOf`).
    private mutating func rerun(stage name: String, selection: RerunSelection, user: String, at now: Date)
        throws(SchedulingError) -> [PipelineAction]
    {
        guard let index = stages.firstIndex(where: { $0.name == name }) else {
            throw failure(.unknownStage, "re-run: no stage \(name)")
        }
        if let building = stages.first(where: { $0.state == .building }) {
            throw failure(.stageNotCompleted, "re-run \(name): stage \(building.name) is still building")
        }
        let current = stages[index]
        guard current.state.isCompleted else {
            throw failure(
                .stageNotCompleted,
                "re-run \(name): the stage is \(current.state.rawValue); only a stage that has ended can run again")
        }
        let chosen = try select(selection, in: current)
        var next = current.nextRun(at: now)
        next.rerunOfCounter = current.counter
        next.approvedBy = user
        next.approvedAt = now
        next.activation = .started
        next.jobs = current.jobPlans.flatMap { plan in
            (1...plan.runCount).map { index in
                if !chosen(plan.name, index, plan.runCount),
                    let ran = current.jobs.first(where: { $0.name == plan.name && $0.runIndex == index })
                {
                    var copy = ran
                    copy.originalStageCounter = ran.originalStageCounter ?? current.counter
                    return copy
                }
                return JobRun.scheduled(name: plan.name, runIndex: index, runCount: plan.runCount, at: now)
            }
        }
        supersede(stageAt: index, with: next)
        completedAt = nil
        return next.jobs.filter { !$0.isCopy }.map { .dispatch(attempt(of: $0, in: next)) }
    }

    /// Whether the job copy (name, run index, run count) runs again under `selection`; refuses
    /// a selection that names an unknown job or selects nothing.
    private func select(_ selection: RerunSelection, in stage: StageRun) throws(SchedulingError)
        -> (String, Int, Int) -> Bool
    {
        let ran = Dictionary(stage.jobs.map { ("\($0.name)#\($0.runIndex)", $0) }, uniquingKeysWith: { first, _ in first })
        let chosen: (String, Int, Int) -> Bool
        switch selection {
        case .all:
            chosen = { _, _, _ in true }
        case .failed:
            // A job that never ran (its stage was cancelled before it started) runs too.
            chosen = { name, index, _ in ran["\(name)#\(index)"].map { $0.result != .passed } ?? true }
        case .named(let names):
            for name in names {
                let known = stage.jobPlans.contains { plan in
                    plan.name == name || (1...plan.runCount).contains { index in
                        ArtifactLocator.jobName(plan.name, runIndex: index, runCount: plan.runCount) == name
                    }
                }
                guard known else { throw failure(.unknownJob, "re-run \(stage.name): no job '\(name)'") }
            }
            let wanted = Set(names)
            chosen = { name, index, count in
                wanted.contains(name) || wanted.contains(ArtifactLocator.jobName(name, runIndex: index, runCount: count))
            }
        }
        let any = stage.jobPlans.contains { plan in (1...plan.runCount).contains { chosen(plan.name, $0, plan.runCount) } }
        guard any else { throw failure(.nothingToRerun, "re-run \(stage.name): no job to run again (\(selection))") }
        return chosen
    }

    /// Records the end of a stage and moves on: the next stage, a wait for approval, or the end.
    private mutating func complete(stageAt index: Int, at now: Date) -> [PipelineAction] {
        stages[index].completedAt = now
        let result = stages[index].result ?? .failed
        let actions: [PipelineAction] = [.stageCompleted(stage: stages[index].name, result: result)]
        let nextIndex = index + 1
        guard nextIndex < stages.count, result != .cancelled else { return actions + completePipeline(at: now) }
        let next = stages[nextIndex]
        switch result {
        case .passed:
            return actions + reach(stageAt: nextIndex, at: now)
        case .failed where next.isManual && !next.allowOnlyOnSuccess:
            return actions + reach(stageAt: nextIndex, at: now)
        case .failed, .cancelled:
            return actions + completePipeline(at: now)
        }
    }

    /// The stage's turn has come: start it, or make it wait for a person. A stage that already
    /// ran (an earlier stage was run again) gets a new stage run.
    private mutating func reach(stageAt index: Int, at now: Date) -> [PipelineAction] {
        if stages[index].hasRun { supersede(stageAt: index, with: stages[index].nextRun(at: now)) }
        guard stages[index].isManual else { return start(stageAt: index, at: now) }
        stages[index].activation = .awaitingApproval
        return [.awaitingApproval(stage: stages[index].name)]
    }

    /// Moves the current run of stage `index` to ``previousStages`` (kept by position, then
    /// counter, the order they load in) and puts `next` in its place.
    private mutating func supersede(stageAt index: Int, with next: StageRun) {
        previousStages.append(stages[index])
        let position = Dictionary(stages.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        previousStages.sort { (position[$0.name] ?? 0, $0.counter) < (position[$1.name] ?? 0, $1.counter) }
        stages[index] = next
    }

    private mutating func start(stageAt index: Int, at now: Date) -> [PipelineAction] {
        stages[index].start(at: now)
        let stage = stages[index]
        return stage.jobs.map { .dispatch(attempt(of: $0, in: stage)) }
    }

    private mutating func completePipeline(at now: Date) -> [PipelineAction] {
        guard let result else { return [] }
        completedAt = now
        return [.pipelineCompleted(result: result)]
    }

    private func failure(_ code: SchedulingError.Code, _ message: String) -> SchedulingError {
        SchedulingError(code: code, message: "\(pipelineName)/\(counter): \(message)")
    }
}
