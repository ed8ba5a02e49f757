/// Collects the errors of one unit being loaded (a file, a pipeline, an environment), so that
/// one mistake does not hide the next.
final class ConfigIssueLog {
    /// The errors so far, in the order they were found.
    private(set) var errors: [ConfigError] = []

    /// Whether nothing has gone wrong.
    var isEmpty: Bool { errors.isEmpty }

    /// Records an error.
    func add(_ error: ConfigError) {
        errors.append(error)
    }

    /// Records several errors.
    func add(contentsOf errors: [ConfigError]) {
        self.errors += errors
    }

    /// Runs `body`, recording the error it throws; returns its result, or `nil` if it threw.
    func capture<T>(_ body: () throws(ConfigError) -> T) -> T? {
        do {
            return try body()
        } catch {
            errors.append(error)
            return nil
        }
    }
}
