/// Ant's path patterns, which GoCD's material filters use: the pattern and the path are split at
/// `/`; `**` matches any number of whole segments (none included), `*` any run of characters
/// within a segment, `?` one character. A pattern ending in `/` matches everything below it
/// (Ant appends `**`). A leading `/` or `./` means the repository's root, as no prefix does.
public enum AntGlob {
    public static func matches(_ pattern: String, path: String) -> Bool {
        var pattern = pattern.replacingBackslashes()
        if pattern.hasSuffix("/") { pattern += "**" }
        let patternParts = segments(pattern)
        let pathParts = segments(path.replacingBackslashes())
        return match(patternParts[...], pathParts[...])
    }

    private static func segments(_ text: String) -> [Substring] {
        var parts = text.split(separator: "/", omittingEmptySubsequences: true)
        if parts.first == "." { parts.removeFirst() }
        return parts
    }

    private static func match(_ pattern: ArraySlice<Substring>, _ path: ArraySlice<Substring>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == "**" {
            let rest = pattern.dropFirst()
            // `**` takes none, one, two… of the path's segments.
            var remaining = path
            while true {
                if match(rest, remaining) { return true }
                guard !remaining.isEmpty else { return false }
                remaining = remaining.dropFirst()
            }
        }
        guard let segment = path.first, matchSegment(Array(first), Array(segment)) else { return false }
        return match(pattern.dropFirst(), path.dropFirst())
    }

    /// `*` and `?` within one segment.
    private static func matchSegment(_ pattern: [Character], _ text: [Character]) -> Bool {
        var p = 0, t = 0, star = -1, resume = 0
        while t < text.count {
            if p < pattern.count && (pattern[p] == "?" || pattern[p] == text[t]) {
                p += 1; t += 1
            } else if p < pattern.count && pattern[p] == "*" {
                star = p; resume = t; p += 1
            } else if star >= 0 {
                p = star + 1; resume += 1; t = resume
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}

private extension String {
    func replacingBackslashes() -> String { String(map { $0 == "\\" ? "/" : $0 }) }
}
