import Foundation

/// GoCD's `tracking_tool`: references to cards or bugs in commit messages, and the link each
/// points to. `regex` finds them; `link` contains `${ID}`, replaced by the regex's first group
/// (the whole match when it has no group), e.g. `regex: "#(\d+)"`, `link:
/// "https://github.com/acme/shop/issues/${ID}"`.
public struct TrackingTool: Sendable, Equatable, Codable {
    public var link: String
    public var regex: String

    /// Why a tracking tool cannot be used, for the config error.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(link: String, regex: String) throws(Invalid) {
        guard link.contains("${ID}") else { throw Invalid(description: "the link '\(link)' must contain ${ID}") }
        do {
            _ = try NSRegularExpression(pattern: regex)
        } catch {
            throw Invalid(description: "the regex '\(regex)' is not a valid regular expression")
        }
        self.link = link
        self.regex = regex
    }

    /// `message` cut into its text and its references, in order: each piece with the URL it
    /// links to, or nil for plain text.
    public func segments(of message: String) -> [(text: String, url: String?)] {
        guard let expression = try? NSRegularExpression(pattern: regex) else { return [(message, nil)] }
        let whole = NSRange(message.startIndex..., in: message)
        var segments: [(text: String, url: String?)] = []
        var cursor = message.startIndex
        for match in expression.matches(in: message, range: whole) {
            guard let range = Range(match.range, in: message), !range.isEmpty else { continue }
            let idRange = match.numberOfRanges > 1 ? Range(match.range(at: 1), in: message) ?? range : range
            if cursor < range.lowerBound { segments.append((String(message[cursor..<range.lowerBound]), nil)) }
            segments.append((String(message[range]), link.replacingOccurrences(of: "${ID}", with: String(message[idRange]))))
            cursor = range.upperBound
        }
        if cursor < message.endIndex { segments.append((String(message[cursor...]), nil)) }
        return segments
    }
}
