import Shared

/// The job runs this worker is executing, so that a cancel from the scheduler reaches the right
/// one. A cancel that arrives while the job is still being prepared (git checkout) is kept and
/// applied as soon as its tasks are about to run.
actor RunningJobs {
    private var executions: [JobRunID: TaskSequenceRunner] = [:]
    private var cancelled: Set<JobRunID> = []

    /// Registers `execution`; returns false if the job was cancelled before (the caller then
    /// cancels it at once).
    func register(_ jobRunID: JobRunID, _ execution: TaskSequenceRunner) -> Bool {
        executions[jobRunID] = execution
        return cancelled.remove(jobRunID) == nil
    }

    func unregister(_ jobRunID: JobRunID) {
        executions[jobRunID] = nil
        cancelled.remove(jobRunID)
    }

    /// Cancels `jobRunID` if it runs here; returns whether it did.
    func cancel(_ jobRunID: JobRunID, preparing: Bool) async -> Bool {
        if let execution = executions[jobRunID] {
            await execution.cancel()
            return true
        }
        if preparing { cancelled.insert(jobRunID) }
        return preparing
    }
}
