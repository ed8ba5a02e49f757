/// GoCD's rule for the names of pipelines, stages, jobs, materials, environments, templates,
/// parameters, groups and resources.
public enum ConfigName {
    /// The longest name GoCD accepts.
    public static let maximumLength = 255

    /// The rule in words, for error messages.
    public static let rule =
        "letters, digits, '-', '_' and '.', not starting with '.', at most \(maximumLength) characters"

    /// Whether `name` follows the rule.
    public static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= maximumLength,
            first != "."
        else { return false }
        return name.unicodeScalars.allSatisfy(isAllowed)
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": true
        default: false
        }
    }
}
