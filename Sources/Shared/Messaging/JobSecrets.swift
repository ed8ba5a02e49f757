

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

/// The scheduler's answer: what the job message leaves out. The job's secure variables with their
/// values (names as in the message), the artifact token of this attempt (see
/// ``JobMessage/artifactToken``), and the full URL of each material whose URL carries
/// credentials (by material name; the message has it redacted).
public struct JobSecretsReply: Sendable, Equatable, Codable {
    public var environmentVariables: [EnvironmentVariable]
    public var artifactToken: String?
    public var materialURLs: [String: String]?

    public init(environmentVariables: [EnvironmentVariable], artifactToken: String? = nil, materialURLs: [String: String]? = nil) {
        self.environmentVariables = environmentVariables
        self.artifactToken = artifactToken
        self.materialURLs = materialURLs
    }
}

extension JobMessage {
    /// Whether the job has secure variables, whose values the worker must fetch.
    public var hasSecureVariables: Bool { environmentVariables.contains(where: \.secure) }

    /// Whether the worker must fetch what the message leaves out before it runs the job: secure
    /// values, the artifact token (for artifacts to upload or `fetch` tasks), material credentials.
    public var needsSecrets: Bool {
        hasSecureVariables || !artifacts.isEmpty || materials.contains(where: \.credentialsWithheld)
            || tasks.contains { if case .fetch = $0 { true } else { false } }
    }

    /// The message as it is published: every secure variable keeps its name and flag, its value
    /// is empty; no artifact token; material URLs with their credentials redacted.
    public func withoutSecrets() -> JobMessage {
        var message = self
        message.environmentVariables = environmentVariables.map { $0.secure ? EnvironmentVariable(name: $0.name, value: "", secure: true) : $0 }
        message.artifactToken = ""
        message.materials = materials.map { material in
            var redacted = material
            redacted.url = GitURL.redacted(material.url)
            return redacted
        }
        return message
    }

    /// What ``withoutSecrets()`` left out, for the worker that holds the job.
    public var secrets: JobSecretsReply {
        let urls = materials.filter { GitURL.redacted($0.url) != $0.url }.map { ($0.name, $0.url) }
        return JobSecretsReply(environmentVariables: environmentVariables.filter(\.secure), artifactToken: artifactToken,
                               materialURLs: urls.isEmpty ? nil : Dictionary(urls, uniquingKeysWith: { first, _ in first }))
    }

    /// The message with what `reply` holds filled in: secure values by name, the artifact token,
    /// material URLs by material name.
    public func filling(_ reply: JobSecretsReply) -> JobMessage {
        let values = Dictionary(reply.environmentVariables.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        var message = self
        message.environmentVariables = environmentVariables.map { variable in
            guard variable.secure, let value = values[variable.name] else { return variable }
            return EnvironmentVariable(name: variable.name, value: value, secure: true)
        }
        if let token = reply.artifactToken { message.artifactToken = token }
        message.materials = materials.map { material in
            var filled = material
            if let url = reply.materialURLs?[material.name] { filled.url = url }
            return filled
        }
        return message
    }
}

extension MaterialCheckout {
    /// Whether the URL in the message had its credentials taken out (``JobMessage/withoutSecrets()``):
    /// the worker gets the full URL with the job's secrets.
    public var credentialsWithheld: Bool { url.contains("******@") }
}
