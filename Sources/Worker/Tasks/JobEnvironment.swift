import Shared

/// The variables a job's processes see, and the values that must never reach the console.
///
/// Precedence, lowest first: the worker's `base` (PATH, HOME…), then the config's levels —
/// environment, pipeline, stage, job, each overriding the one before (and, within one level, a
/// later declaration overriding an earlier one) — and finally the `GO_*` variables the server
/// computed, which always win. GoCD lets config override them; Relevo does not, so that a
/// script can trust `GO_PIPELINE_COUNTER`, `GO_REVISION_*` and the rest.
struct JobEnvironment: Sendable, Equatable {
    /// The complete environment of the job's processes.
    var variables: [String: String]
    /// Every value declared secure at any level, even if a higher level overrode the variable,
    /// longest first: the console masks them all.
    var secureValues: [String]

    /// Creates an environment from finished parts.
    init(variables: [String: String], secureValues: [String]) {
        self.variables = variables
        self.secureValues = secureValues
    }

    /// Merges the levels as described on ``JobEnvironment``.
    static func build(
        base: [String: String],
        goVariables: [String: String],
        environment: [EnvironmentVariable] = [],
        pipeline: [EnvironmentVariable] = [],
        stage: [EnvironmentVariable] = [],
        job: [EnvironmentVariable] = []
    ) -> JobEnvironment {
        var variables = base
        var secure: Set<String> = []
        for variable in environment + pipeline + stage + job {
            variables[variable.name] = variable.value
            if variable.secure, !variable.value.isEmpty { secure.insert(variable.value) }
        }
        variables.merge(goVariables) { _, server in server }
        return JobEnvironment(variables: variables, secureValues: secure.sorted { ($0.count, $0) > ($1.count, $1) })
    }
}
