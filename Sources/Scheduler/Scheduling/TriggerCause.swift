/// Why a pipeline run was created (GoCD's build cause).
enum TriggerCause: Sendable, Equatable, Codable {
    /// A person pressed "trigger".
    case manual(user: String)
    /// A material (a git push) changed.
    case materialChange
    /// An upstream pipeline's stage passed (a dependency material).
    case upstream(pipeline: String, counter: Int, stage: String)

    /// The user who triggered the run by hand, if a person did.
    var user: String? {
        if case .manual(let user) = self { user } else { nil }
    }
}
