import Shared

/// The job runs this worker is executing, so that a cancel from the scheduler reaches the right
/// one. A cancel that arrives while the job is still being prepared (git checkout) is kept and
/// applied as soon as its tasks are about to run.
actor RunningJobs {
    private var executions: [String: JobExecution] = [:]
    private var cancelled: Set<String> = []

    /// Registers `execution`; returns false if the job was cancelled before (the caller then
    /// cancels it at once).
    func register(_ jobRunID: String, _ execution: JobExecution) -> Bool {
        executions[jobRunID] = execution
        return cancelled.remove(jobRunID) == nil
    }

    func unregister(_ jobRunID: String) {
        executions[jobRunID] = nil
        cancelled.remove(jobRunID)
    }

    /// Marks a job being prepared as cancelled.
    func markCancelled(_ jobRunID: String) {
        cancelled.insert(jobRunID)
    }

    /// Cancels `jobRunID` if it runs here; returns whether it did.
    func cancel(_ jobRunID: String, preparing: Bool) async -> Bool {
        if let execution = executions[jobRunID] {
            await execution.cancel()
            return true
        }
        if preparing { cancelled.insert(jobRunID) }
        return preparing
    }
}
