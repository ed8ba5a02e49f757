import Foundation
import Shared
import Synchronization

/// What a job's JUnit XML reports say (GoCD's test tab): every `<testcase>`, and for the failing
/// ones their name and message, so that a failing test shows without opening the console. Read
/// from the job's artifacts when the job declares `test` artifacts: every `.xml` file that is a
/// JUnit report (`<testsuite>` or `<testsuites>`); other XML files are left alone.
struct TestReport: Sendable, Equatable, Encodable {
    struct Failure: Sendable, Equatable, Encodable {
        let name: String
        let classname: String
        /// `failure` (an assertion) or `error` (the test crashed).
        let kind: String
        let message: String
        /// The report file it is in, under the job's artifacts.
        let file: String
    }

    var total = 0
    var failed = 0
    var skipped = 0
    var passed: Int { total - failed - skipped }
    var failures: [Failure] = []
    /// The report files read.
    var files: [String] = []

    enum CodingKeys: String, CodingKey { case total, failed, skipped, passed, failures, files }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(total, forKey: .total)
        try container.encode(passed, forKey: .passed)
        try container.encode(failed, forKey: .failed)
        try container.encode(skipped, forKey: .skipped)
        try container.encode(failures, forKey: .failures)
        try container.encode(files, forKey: .files)
    }

    /// `12 passed, 1 failed, 2 skipped`.
    var summary: String {
        ([passed > 0 || total == 0 ? "\(passed) passed" : nil, failed > 0 ? "\(failed) failed" : nil, skipped > 0 ? "\(skipped) skipped" : nil]
            .compactMap { $0 }).joined(separator: ", ")
    }

    /// Adds the test cases of `text` (the report file `file`); returns false if it is not a JUnit report.
    @discardableResult
    mutating func add(_ text: String, file: String) -> Bool {
        guard text.contains("<testsuite") else { return false }
        files.append(file)
        var rest = Substring(text)
        while let start = rest.range(of: "<testcase") {
            let afterName = rest[start.upperBound...]
            // `<testcase` followed by a space or the tag's end (not `<testcases…`).
            guard let next = afterName.first, next == " " || next == ">" || next == "/" || next == "\n" || next == "\t" || next == "\r" else {
                rest = afterName
                continue
            }
            guard let tagEnd = afterName.firstIndex(of: ">") else { break }
            let tag = afterName[..<tagEnd]
            let attributes = Self.attributes(tag)
            total += 1
            var body: Substring = ""
            if tag.hasSuffix("/") {
                rest = afterName[afterName.index(after: tagEnd)...]
            } else if let close = afterName.range(of: "</testcase>") {
                body = afterName[afterName.index(after: tagEnd)..<close.lowerBound]
                rest = afterName[close.upperBound...]
            } else {
                rest = afterName[afterName.index(after: tagEnd)...]
            }
            if let kind = ["failure", "error"].first(where: { body.contains("<\($0)") }),
               let open = body.range(of: "<\(kind)") {
                let failureTag = body[open.upperBound...].prefix { $0 != ">" }
                var message = Self.attributes(failureTag)["message"] ?? ""
                if message.isEmpty, !failureTag.hasSuffix("/"),
                   let textStart = body[open.upperBound...].firstIndex(of: ">"),
                   let textEnd = body.range(of: "</\(kind)>") {
                    let inner = body[body.index(after: textStart)..<textEnd.lowerBound]
                        .replacingOccurrences(of: "<![CDATA[", with: "").replacingOccurrences(of: "]]>", with: "")
                    message = Self.unescape(inner.split(separator: "\n").first.map(String.init) ?? "")
                }
                failed += 1
                failures.append(Failure(name: attributes["name"] ?? "?", classname: attributes["classname"] ?? "", kind: kind,
                                        message: String(message.trimmingCharacters(in: .whitespaces).prefix(500)), file: file))
            } else if body.contains("<skipped") {
                skipped += 1
            }
        }
        return true
    }

    /// `name="value"` (or single quotes) pairs of a tag, entities decoded.
    static func attributes(_ tag: Substring) -> [String: String] {
        var result: [String: String] = [:]
        var rest = tag
        while let equals = rest.firstIndex(of: "=") {
            let name = rest[..<equals].split(whereSeparator: { $0.isWhitespace }).last.map(String.init) ?? ""
            var after = rest[rest.index(after: equals)...].drop { $0.isWhitespace }
            guard let quote = after.first, quote == "\"" || quote == "'" else { break }
            after = after.dropFirst()
            guard let close = after.firstIndex(of: quote) else { break }
            result[name] = unescape(String(after[..<close]))
            rest = after[after.index(after: close)...]
        }
        return result
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// The test reports of completed jobs, read once each (their artifacts no longer change).
final class TestReports: Sendable {
    private let cache = Mutex<[String: TestReport]>([:])
    let artifacts: ArtifactStore
    /// Report files larger than this are skipped (a report is not a log).
    static let largestFile = 32 << 20

    init(artifacts: ArtifactStore) {
        self.artifacts = artifacts
    }

    /// The report of the job run at `locator`, or nil if it has no JUnit report. `completed`:
    /// the job has ended, so the report is kept.
    func report(of locator: ArtifactLocator, completed: Bool) -> TestReport? {
        if let known = cache.withLock({ $0[locator.description] }) { return known.files.isEmpty ? nil : known }
        var report = TestReport()
        for path in xmlFiles(artifacts.entriesOrEmpty(of: locator)).prefix(500) {
            guard let file = try? artifacts.file(of: locator, path: path), file.size <= Self.largestFile,
                  let data = FileManager.default.contents(atPath: file.url.path) else { continue }
            report.add(String(decoding: data, as: UTF8.self), file: path.description)
        }
        if completed { cache.withLock { $0[locator.description] = report } }
        return report.files.isEmpty ? nil : report
    }

    private func xmlFiles(_ entries: [ArtifactStore.Entry]) -> [ArtifactPath] {
        entries.flatMap { entry in
            entry.isFolder ? xmlFiles(entry.children) : (entry.name.lowercased().hasSuffix(".xml") ? [entry.path] : [])
        }
    }
}

extension ArtifactStore {
    func entriesOrEmpty(of locator: ArtifactLocator) -> [Entry] {
        (try? entries(of: locator)) ?? []
    }
}
