

/// How a worker gets a job's secure variables: never in the job message (anyone who can read a
/// queue, or `relevo.dead`, would read them), but from the scheduler over HTTP, once it holds the
/// job. The request names the agent and the attempt and is signed like the agent's events (an
/// HMAC of the body under the agent's own credential, in ``signatureHeader``); the scheduler
/// answers only the agent that holds that attempt of a job still running.
public struct JobSecretsRequest: Sendable, Equatable, Codable {
    /// Where the request goes, after the server URL (`http://host:8153/go`).
    public static let path = "/api/agents/job_secrets"
    /// Hex HMAC-SHA256 of the body under the agent's credential.
    public static let signatureHeader = "X-Relevo-Signature"
    /// How far ``sentAt`` may be from the scheduler's clock, in seconds: a captured request is
    /// worthless after this.
    public static let maximumSkewSeconds = 300

    /// The agent's UUID.
    public var agent: String
    public var jobRunID: JobRunID
    public var attempt: Int
    /// When the request was made, in seconds since 1970.
    public var sentAt: Int

    public init(agent: String, attempt: JobAttempt, sentAt: Int) {
        self.agent = agent
        self.jobRunID = attempt.jobRunID
        self.attempt = attempt.attempt
        self.sentAt = sentAt
    }

    public var jobAttempt: JobAttempt { JobAttempt(jobRunID: jobRunID, attempt: attempt) }
}

/// The scheduler's answer: the job's secure variables with their values, names as in the job
/// message.
public struct JobSecretsReply: Sendable, Equatable, Codable {
    public var environmentVariables: [EnvironmentVariable]

    public init(environmentVariables: [EnvironmentVariable]) {
        self.environmentVariables = environmentVariables
    }
}

extension JobMessage {
    /// Whether the job has secure variables, whose values the worker must fetch.
    public var hasSecureVariables: Bool { environmentVariables.contains(where: \.secure) }

    /// The message as it is published: every secure variable keeps its name and flag, its value
    /// is empty.
    public func withoutSecureValues() -> JobMessage {
        var message = self
        message.environmentVariables = environmentVariables.map { $0.secure ? EnvironmentVariable(name: $0.name, value: "", secure: true) : $0 }
        return message
    }

    /// The message with the secure values of `secrets` filled in by name.
    public func filling(_ secrets: [EnvironmentVariable]) -> JobMessage {
        let values = Dictionary(secrets.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        var message = self
        message.environmentVariables = environmentVariables.map { variable in
            guard variable.secure, let value = values[variable.name] else { return variable }
            return EnvironmentVariable(name: variable.name, value: value, secure: true)
        }
        return message
    }
}
