/// What the HTTP API, the dashboard and `/metrics` read: pipeline runs, their history and
/// consoles, agents, pauses and job counts. Read-only: everything that changes state goes
/// through the engine's commands. ``SchedulerStore`` is the real one.
protocol SchedulerQueries: PipelineRunLookup {
    /// A page of `pipeline`'s instances, newest first.
    func history(of pipeline: String, limit: Int, offset: Int) async throws(StoreError) -> PipelineHistoryPage
    /// The console of one attempt of a job run (the current one when `attempt` is nil).
    func console(of job: JobKey, pipeline: String, counter: Int, attempt: Int?) async throws(StoreError) -> JobConsoleText?
    /// Every agent ever registered.
    func agents() async throws(StoreError) -> [Agent]
    /// The paused pipelines, by lower-cased name.
    func pauses() async throws(StoreError) -> [String: PipelinePause]
    /// How many job runs are in each state.
    func jobCounts() async throws(StoreError) -> [String: Int]
    /// The newest `limit` messages read from `relevo.dead`, newest first.
    func deadLetters(limit: Int) async throws(StoreError) -> [DeadLetterRecord]
    /// Messages read from `relevo.dead`, by kind.
    func deadLetterCounts() async throws(StoreError) -> [DeadLetter.Kind: Int]
}

extension SchedulerQueries {
    /// The newest `limit` instances of `pipeline`.
    func history(of pipeline: String, limit: Int) async throws(StoreError) -> PipelineHistoryPage {
        try await history(of: pipeline, limit: limit, offset: 0)
    }

    /// The console of the current attempt of a job run.
    func console(of job: JobKey, pipeline: String, counter: Int) async throws(StoreError) -> JobConsoleText? {
        try await console(of: job, pipeline: pipeline, counter: counter, attempt: nil)
    }
}

extension SchedulerStore: SchedulerQueries {}
