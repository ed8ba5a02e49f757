import Logging
import Shared

extension SchedulerEngine {
    /// What the scheduler says to an agent asking for a job's secure variables.
    enum SecretsAnswer: Sendable, Equatable {
        /// The agent holds the attempt: here is what its message left out.
        case granted(JobSecretsReply)
        /// Nobody holds the attempt yet (the agent's `accepted` may still be on its way).
        case notYetHeld
        /// Another agent holds the attempt.
        case heldByAnother(String)
        /// The attempt is not the current one, its job has completed, or there is no such job.
        case gone(String)
        /// A secure value cannot be decrypted or a secret reference cannot be looked up.
        case unresolvable(String)
    }

    /// What `attempt`'s message left out, for `agent`, if that agent holds it and it still runs.
    func secrets(for attempt: JobAttempt, agent: String) async -> SecretsAnswer {
        let id = attempt.jobRunID
        let run: PipelineRun?
        do {
            run = try await dispatcher.runs.pipelineRun(id.pipeline, counter: id.pipelineCounter)
        } catch {
            logger.warning("secure variables not served: the run cannot be read", metadata: ["job": "\(attempt)", "error": "\(error)"])
            return .gone("\(id) cannot be read now")
        }
        guard let run, let job = run.job(id.key) else { return .gone("there is no job run \(id)") }
        guard job.attempt == attempt.attempt else {
            return .gone("attempt \(attempt.attempt) of \(id) is not its current attempt (\(job.attempt))")
        }
        guard job.state != .completed else { return .gone("\(id) has completed") }
        guard let holder = job.agentID else { return .notYetHeld }
        guard holder == agent else { return .heldByAnother("attempt \(attempt.attempt) of \(id) is another agent's") }
        let secrets: JobSecretsReply?
        do {
            secrets = try await dispatcher.secrets(of: attempt, run: run, config: config)
        } catch {
            logger.error("a job's secrets cannot be resolved; the job fails", metadata: ["job": "\(attempt)", "reason": "\(error)"])
            return .unresolvable(error.description)
        }
        guard let secrets else { return .gone("the config no longer has \(id)") }
        return .granted(secrets)
    }
}
