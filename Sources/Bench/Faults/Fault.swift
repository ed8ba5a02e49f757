/// The faults the suite injects, each at a random moment of a round.
enum Fault: String, CaseIterable, Sendable {
    /// A worker is SIGKILLed (and started again a little later).
    case workerKill = "worker SIGKILL"
    /// A worker is SIGTERMed: it finishes what it runs, takes nothing new, exits (started again).
    case workerTerm = "worker SIGTERM"
    /// A worker is frozen with SIGSTOP (its connection stays open), thawed later.
    case workerFreeze = "worker SIGSTOP"
    /// A worker is disabled by an administrator mid-job, enabled again later.
    case workerDisable = "worker disabled"
    /// The scheduler is SIGKILLed and started again.
    case schedulerKill = "scheduler SIGKILL"
    /// The broker is stopped gracefully and started again.
    case brokerRestart = "broker restart"
    /// The broker is SIGKILLed and started again.
    case brokerKill = "broker SIGKILL"
    /// Another process holds the database's write lock for a while.
    case databaseLock = "database locked"

    /// Whether the fault hits one worker (whose running jobs are its victims).
    var hitsAWorker: Bool { [.workerKill, .workerTerm, .workerFreeze, .workerDisable].contains(self) }
}

/// A seeded random number generator (SplitMix64), so that a run is repeated from its seed.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
