import Foundation

/// The benchmark's figures: one aligned plain-text table and the same figures as JSON.
struct BenchReport: Encodable, Sendable {
    /// One line of the table: Relevo's figure, the machine's floor for it, their ratio and the
    /// issue's target.
    struct Figure: Encodable, Sendable {
        let section: String
        let name: String
        let unit: String
        let relevo: Double?
        let floor: Double?
        let target: String?

        /// Relevo ÷ floor: how many times the floor a latency is, what share of it a throughput is.
        var ratio: Double? {
            guard let relevo, let floor, floor > 0 else { return nil }
            return relevo / floor
        }

        enum CodingKeys: String, CodingKey { case section, name, unit, relevo, floor, ratio, target }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(section, forKey: .section)
            try container.encode(name, forKey: .name)
            try container.encode(unit, forKey: .unit)
            try container.encode(relevo.map(Self.rounded), forKey: .relevo)
            try container.encode(floor.map(Self.rounded), forKey: .floor)
            try container.encode(ratio.map(Self.rounded), forKey: .ratio)
            try container.encode(target, forKey: .target)
        }

        private static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
    }

    struct Machine: Encodable, Sendable {
        let cores: Int
        let model: String
    }

    let generatedAt: Date
    let quick: Bool
    let build: String
    let machine: Machine
    let sizes: [String: Int]
    let notes: [String]
    var figures: [Figure] = []

    enum CodingKeys: String, CodingKey {
        case generatedAt = "generated_at", quick, build, machine, sizes, notes, figures
    }

    mutating func add(_ section: String, _ name: String, _ unit: String, relevo: Double?, floor: Double? = nil, target: String? = nil) {
        figures.append(Figure(section: section, name: name, unit: unit, relevo: relevo, floor: floor, target: target))
    }

    /// The table, columns aligned, sections separated by a blank line.
    var table: String {
        let header = ["figure", "Relevo", "floor", "ratio", "target"]
        var rows: [[String]] = []
        var sections: [Int] = []
        var section = ""
        for figure in figures {
            if figure.section != section {
                section = figure.section
                sections.append(rows.count)
                rows.append([section, "", "", "", ""])
            }
            rows.append(["  " + figure.name, Self.format(figure.relevo, figure.unit), Self.format(figure.floor, figure.unit),
                         figure.ratio.map { String(format: "%.2f×", $0) } ?? "", figure.target ?? ""])
        }
        let widths = (0..<header.count).map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                // Names and targets read left to right; numbers line up on the right.
                return column == 0 || column == 4 ? cell + padding : padding + cell
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var lines = [line(header), line(widths.map { String(repeating: "-", count: $0) })]
        for (index, row) in rows.enumerated() {
            if sections.contains(index), index > 0 { lines.append("") }
            lines.append(line(row))
        }
        return lines.joined(separator: "\n")
    }

    private static func format(_ value: Double?, _ unit: String) -> String {
        guard let value else { return "" }
        switch unit {
        case "ms": return String(format: value < 10 ? "%.2f ms" : "%.1f ms", value)
        case "MB": return String(format: "%.1f MB", value)
        case "s": return String(format: "%.1f s", value)
        default: return String(format: "%.0f \(unit)", value)
        }
    }

    func writeJSON(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    /// Core count and CPU model name (from /proc/cpuinfo).
    static func currentMachine() -> Machine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        return Machine(cores: ProcessInfo.processInfo.activeProcessorCount, model: model)
    }
}
