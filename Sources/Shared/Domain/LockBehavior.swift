/// Whether instances of a pipeline may overlap (GoCD's `lock_behavior`).
public enum LockBehavior: String, Sendable, Codable, CaseIterable {
    /// One instance at a time; a failed instance keeps the lock until unlocked by hand.
    case lockOnFailure
    /// One instance at a time; the lock goes when the instance finishes, whatever its result.
    case unlockWhenFinished
    /// Instances may run side by side (GoCD's default).
    case none
}
