import Foundation

/// The benchmark table: each figure beside its baseline, the ratio, and
/// whether the target is met.
struct Report {
    struct Row {
        let name: String
        let figure: String
        let baseline: String
        let ratio: String
        let target: String
        let verdict: String
    }

    var rows: [Row] = []
    let judged: Bool

    mutating func add(
        _ name: String, _ value: Double, unit: String, baselineName: String? = nil, baseline: Double? = nil,
        target: (text: String, met: (Double) -> Bool)? = nil, ratioOf: ((Double, Double) -> Double)? = nil
    ) {
        var ratio = "-"
        var ratioValue: Double?
        if let baseline, baseline > 0 {
            ratioValue = ratioOf?(value, baseline) ?? value / baseline
            ratio = String(format: "%.2fx", ratioValue!)
        }
        var verdict = "-"
        if let target {
            verdict = judged ? (target.met(ratioValue ?? value) ? "pass" : "MISS") : "smoke"
        }
        rows.append(
            Row(
                name: name, figure: Report.format(value, unit), baseline: baseline.map { "\(baselineName ?? ""): \(Report.format($0, unit))" } ?? "-",
                ratio: ratio, target: target?.text ?? "-", verdict: verdict))
    }

    static func format(_ value: Double, _ unit: String) -> String {
        switch unit {
        case "/s": return group(Int(value.rounded())) + "/s"
        case "ms": return String(format: "%.2f ms", value * 1000)
        case "MB": return String(format: "%.1f MB", value / 1_048_576)
        default: return String(format: "%.2f %@", value, unit)
        }
    }

    static func group(_ value: Int) -> String {
        let digits = String(value)
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return result
    }

    func render() -> String {
        let header = ["benchmark", "figure", "baseline (same run)", "ratio", "target", "verdict"]
        let cells = [header] + rows.map { [$0.name, $0.figure, $0.baseline, $0.ratio, $0.target, $0.verdict] }
        let widths = header.indices.map { column in cells.map { $0[column].count }.max() ?? 0 }
        func line(_ row: [String]) -> String {
            "| " + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |"
        }
        return
            ([line(header), "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|"]
            + rows.map {
                line([$0.name, $0.figure, $0.baseline, $0.ratio, $0.target, $0.verdict])
            }).joined(separator: "\n")
    }
}
