import Foundation

/// One applied transition, as logged in the `transitions` table.
struct TransitionRecord: Sendable, Equatable {
    /// The event that was applied.
    var event: PipelineEvent
    /// When it was applied.
    var at: Date
}
