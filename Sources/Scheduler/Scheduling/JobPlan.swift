/// A job a stage will run, fixed when the pipeline run is created so that later config
/// changes never reshape a run in flight.
struct JobPlan: Sendable, Equatable, Codable {
    /// The job's name as configured.
    var name: String
    /// How many copies run (`run_instances`), at least 1.
    var runCount: Int
}
