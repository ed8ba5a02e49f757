/// How a stage is started once the stage before it has finished (GoCD's `approval`).
public struct ApprovalDefinition: Sendable, Equatable, Codable {
    /// Whether a stage starts by itself or waits for a person.
    public enum ApprovalType: String, Sendable, Codable, CaseIterable {
        /// Starts by itself when the previous stage passes (GoCD's default).
        case success
        /// Waits for a person to press "play".
        case manual
    }

    /// Whether the stage starts by itself or waits for a person.
    public var type: ApprovalType
    /// For a manual stage: allow the trigger only when the previous stage passed.
    public var allowOnlyOnSuccess: Bool
    /// Users allowed to approve; empty means anyone allowed to operate the pipeline.
    public var users: [String]
    /// Roles allowed to approve; empty means anyone allowed to operate the pipeline.
    public var roles: [String]

    /// Creates an approval.
    public init(
        type: ApprovalType = .success,
        allowOnlyOnSuccess: Bool = false,
        users: [String] = [],
        roles: [String] = []
    ) {
        self.type = type
        self.allowOnlyOnSuccess = allowOnlyOnSuccess
        self.users = users
        self.roles = roles
    }

    /// GoCD's default: start when the previous stage passes.
    public static let success = ApprovalDefinition()

    /// A manual approval open to anyone.
    public static let manual = ApprovalDefinition(type: .manual)
}
