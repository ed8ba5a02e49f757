import Foundation
import Shared

/// What the agent is doing: its slots, running jobs, the catalogue it follows, whether it stops.
actor AgentRuntime {
    let slots: SlotPool
    /// What the agent is doing now: deliveries being handled, job runs taken.
    let jobs = RunningJobs()
    private(set) var catalogVersion = 0
    private(set) var isStopping = false
    /// What the agent offers: its own, or what an administrator set.
    private(set) var resources: [String]
    private(set) var environments: [String]
    /// What an administrator set, in use instead of the agent's own; `nil` if nothing.
    private(set) var assignedResources: [String]?
    private(set) var assignedEnvironments: [String]?
    /// The newest catalogue, to choose queues again when resources or environments change.
    private var catalog: QueueCatalogMessage?
    /// The queues consumed, each with its catalogue entry and the generation of its consumer: a
    /// queue left and followed again gets a new consumer under a new generation while the old one
    /// drains.
    private var followed: [String: (entry: QueueCatalogMessage.Entry, generation: Int)] = [:]
    private var generations = 0
    /// Disabled by an administrator: takes no job until enabled again.
    private(set) var isDisabled = false
    /// Everyone waiting for a change of stopping, disabled or the queues followed; each checks
    /// its own condition again when woken.
    private var changeWaiters: [CheckedContinuation<Void, Never>] = []

    init(slots: Int, resources: [String], environments: [String]) {
        self.slots = SlotPool(capacity: slots)
        self.resources = resources
        self.environments = environments
    }

    /// Still working: not stopping, or stopping with jobs left to finish.
    var isAlive: Bool {
        get async {
            if !isStopping { return true }
            return await !jobs.isIdle
        }
    }

    /// Queues to start and to stop consuming.
    struct FollowChange {
        var followed: [(QueueCatalogMessage.Entry, Int)]
        var left: [String]
    }

    /// Records a catalogue (an older one than the newest seen changes nothing).
    func accept(_ message: QueueCatalogMessage) -> FollowChange {
        guard message.version >= catalogVersion else { return FollowChange(followed: [], left: []) }
        catalogVersion = message.version
        catalog = message
        return refollow()
    }

    /// Takes the resources and environments an administrator set (`nil`: the agent's `own`);
    /// `nil` if the ones in force do not change.
    func reconfigure(resources assigned: [String]?, environments assignedEnvironments: [String]?,
                     own: (resources: [String], environments: [String])) -> FollowChange? {
        self.assignedResources = assigned
        self.assignedEnvironments = assignedEnvironments
        let resources = assigned ?? own.resources
        let environments = assignedEnvironments ?? own.environments
        guard resources != self.resources || environments != self.environments else { return nil }
        self.resources = resources
        self.environments = environments
        return refollow()
    }

    /// Whether the consumer of `generation` should still consume `queue`.
    func follows(_ queue: String, generation: Int) -> Bool { followed[queue]?.generation == generation }

    /// Whether a job delivered by the consumer of `queue` under `generation` may run: the agent
    /// is not stopping, not disabled, and still follows the queue.
    func takesJobs(from queue: String, generation: Int) -> Bool {
        !isStopping && !isDisabled && follows(queue, generation: generation)
    }

    /// Returns once the consumer of `queue` under `generation` must take no more jobs: the agent
    /// is stopping, disabled, or no longer qualifies for the queue.
    func waitUntilNotTakingJobs(from queue: String, generation: Int) async {
        await wait { !$0.takesJobs(from: queue, generation: generation) }
    }

    /// Returns once `condition` holds, checking it again at every change.
    private func wait(until condition: (isolated AgentRuntime) -> Bool) async {
        while !condition(self) {
            await withCheckedContinuation { changeWaiters.append($0) }
        }
    }

    /// Wakes every waiter to check its condition again.
    private func changed() {
        let waiters = changeWaiters
        changeWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }

    /// Follows every queue of the catalogue the agent qualifies for, and leaves the queues it no
    /// longer qualifies for. A queue the catalogue dropped (no pipeline needs it any more) is kept
    /// while the agent qualifies: jobs may still wait in it.
    private func refollow() -> FollowChange {
        var change = FollowChange(followed: [], left: [])
        for queue in followed.keys.sorted() {
            guard let entry = followed[queue]?.entry,
                  !entry.requirement.isSatisfied(byEnvironments: environments, resources: resources) else { continue }
            followed[queue] = nil
            change.left.append(queue)
        }
        for entry in catalog?.entries(forEnvironments: environments, resources: resources) ?? [] where followed[entry.queue] == nil {
            generations += 1
            followed[entry.queue] = (entry, generations)
            change.followed.append((entry, generations))
        }
        changed()
        return change
    }

    func beginStopping() {
        guard !isStopping else { return }
        isStopping = true
        changed()
    }

    /// Returns whether the state changed.
    func setDisabled(_ disabled: Bool) -> Bool {
        guard disabled != isDisabled else { return false }
        isDisabled = disabled
        changed()
        return true
    }

    /// Returns once the agent is enabled (or stopping).
    func waitUntilEnabled() async {
        await wait { !$0.isDisabled || $0.isStopping }
    }

    func waitUntilStopping() async {
        await wait { $0.isStopping }
    }

    /// Sleeps for `duration`, or less if the agent starts stopping (checked every 50 ms).
    func sleepUnlessStopping(_ duration: Duration) async {
        let deadline = ContinuousClock.now + duration
        while !isStopping, ContinuousClock.now < deadline {
            do {
                try await Task.sleep(for: min(.milliseconds(50), deadline - ContinuousClock.now))
            } catch {
                return  // cancelled: the caller is going away
            }
        }
    }
}
