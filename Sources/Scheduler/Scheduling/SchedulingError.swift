/// Why the pipeline state machine refused an event: the event is illegal in the run's current
/// state. Never retriable: the same event against the same state is refused again.
struct SchedulingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of illegal transition was attempted.
    enum Code: String, Sendable, Codable, CaseIterable {
        /// The definition cannot make a run: no stage, or a stage without jobs.
        case invalidDefinition
        /// `created` arrived for a run that has already started.
        case alreadyCreated
        /// An event other than `created` arrived for a run that has not started.
        case notCreated
        /// No stage run of that name and counter.
        case unknownStage
        /// The stage has no job of that name and run index.
        case unknownJob
        /// The job exists in the stage's plan but its stage has not been started.
        case jobNotDispatched
        /// An approval for a stage that is not waiting for one.
        case stageNotAwaitingApproval
        /// An approval that `allow_only_on_success` forbids: the previous stage did not pass.
        case previousStageNotPassed
        /// The run has ended; only stale or duplicate events are still accepted.
        case pipelineCompleted
        /// The event contradicts what is recorded for the same attempt (another agent, another result).
        case conflictingEvent
        /// An attempt number below 1.
        case invalidAttempt
        /// A job reported as finished with result `unknown`.
        case invalidResult
        /// A re-run of a stage that has not ended, or while another stage of the run builds.
        case stageNotCompleted
        /// A re-run that selects no job (no failed job, or an empty selection).
        case nothingToRerun
    }

    /// What kind of illegal transition was attempted.
    var code: Code
    /// The run, the event and what made it illegal.
    var message: String

    /// Always `false`: an illegal transition stays illegal.
    var isRetriable: Bool { false }

    /// `code: message`.
    var description: String { "\(code.rawValue): \(message)" }
}
