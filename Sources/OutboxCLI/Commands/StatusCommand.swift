import ArgumentParser
import Foundation
import UsageOutbox

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show how many events are pending, in flight, failed, sent and dead, per meter, and what is holding them back."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await reportingFailures {
            let settings = try await database.resolve()
            try await settings.withStore { outbox in
                let now = WallClock.nowMilliseconds()
                let status = try await outbox.status(now: now)
                let holds = try await outbox.budgetHolds()
                if output.json {
                    Stdout.print(StatusReport.json(status, holds: holds).jsonText)
                } else {
                    Stdout.print(StatusReport.text(status, holds: holds, path: settings.displayLocation, now: now))
                }
            }
        }
    }
}

/// Renders `OutboxStatus` for people and for scripts.
enum StatusReport {
    static func counts(_ counts: StateCounts) -> [String: JSONValue] {
        [
            "pending": .integer(Int64(counts.pending)), "inflight": .integer(Int64(counts.inflight)),
            "failed": .integer(Int64(counts.failed)), "sent": .integer(Int64(counts.sent)), "dead": .integer(Int64(counts.dead)),
        ]
    }

    static func json(_ status: OutboxStatus, holds: [BudgetHold] = []) -> JSONValue {
        var object = counts(status.totals)
        object["oldest_pending_age_seconds"] = status.oldestPendingAgeSeconds.map { .number(($0 * 1000).rounded() / 1000) } ?? .null
        object["next_retry_at"] = status.nextRetryAt.map { .string(RFC3339.format(unixMilliseconds: $0)) } ?? .null
        object["appended"] = .integer(Int64(status.totals.appended))
        object["purged"] = .integer(Int64(status.totals.purged))
        var meters: [String: JSONValue] = [:]
        for (name, meter) in status.meters {
            var entry = counts(meter.counts)
            entry["appended"] = .integer(Int64(meter.counts.appended))
            entry["purged"] = .integer(Int64(meter.counts.purged))
            entry["last_status"] = meter.lastStatus.map { .integer(Int64($0)) } ?? .null
            entry["last_error"] = meter.lastError.map { .string($0) } ?? .null
            entry["last_error_at"] = meter.lastErrorAt.map { .string(RFC3339.format(unixMilliseconds: $0)) } ?? .null
            entry["last_success_at"] = meter.lastSuccessAt.map { .string(RFC3339.format(unixMilliseconds: $0)) } ?? .null
            entry["paused"] = .bool(meter.pause != nil)
            entry["pause_reason"] = meter.pause?.reason.map { .string($0) } ?? .null
            entry["late_rejected"] = .integer(Int64(meter.lateRejected))
            // The shared budgets hold back every meter that has work.
            entry["held_back_by"] = meter.counts.undelivered > 0 ? holds.first.map { .string($0.budget) } ?? .null : .null
            meters[name] = .object(entry)
        }
        object["meters"] = .object(meters)
        object["late_rejected"] = .integer(Int64(status.meters.values.reduce(0) { $0 + $1.lateRejected }))
        object["held_back_by"] = .array(
            holds.map { .object(["budget": .string($0.budget), "until": .string(RFC3339.format(unixMilliseconds: $0.until))]) })
        return .object(object)
    }

    static func text(_ status: OutboxStatus, holds: [BudgetHold] = [], path: String, now: Int64) -> String {
        var lines = ["outbox \(path)"]
        let header = ["", "pending", "inflight", "failed", "sent", "dead"]
        var rows = [
            ["total"]
                + [status.totals.pending, status.totals.inflight, status.totals.failed, status.totals.sent, status.totals.dead].map {
                    ProgressDisplay.group($0)
                }
        ]
        for name in status.meters.keys.sorted() {
            let c = status.meters[name]!.counts
            rows.append(["  " + name] + [c.pending, c.inflight, c.failed, c.sent, c.dead].map { ProgressDisplay.group($0) })
        }
        lines += Table.render(header: header, rows: rows, rightAligned: Set(1...5))
        if let age = status.oldestPendingAgeSeconds {
            lines.append("oldest undelivered event: \(ProgressDisplay.duration(age)) old")
        } else if status.totals.appended == 0 {
            lines.append("no events yet: append some with `outbox append --meter METER --file events.ndjson`")
        } else {
            lines.append("nothing left to deliver")
        }
        if let next = status.nextRetryAt {
            let wait = Double(next - now) / 1000
            lines.append("next retry: \(wait <= 0 ? "due now" : "in " + ProgressDisplay.duration(wait)) (\(RFC3339.formatSeconds(unixMilliseconds: next)))")
        }
        for name in status.meters.keys.sorted() {
            let meter = status.meters[name]!
            // Only a failure newer than the last success is a current problem.
            guard let error = meter.lastError, let at = meter.lastErrorAt, at > (meter.lastSuccessAt ?? 0) else { continue }
            let code = meter.lastStatus.map { "\($0) " } ?? ""
            lines.append("meter \(name): \(code)\(error) since \(RFC3339.formatSeconds(unixMilliseconds: at))")
        }
        for name in status.meters.keys.sorted() {
            guard let pause = status.meters[name]!.pause else { continue }
            let undelivered = status.meters[name]!.counts.undelivered
            lines.append(
                "meter \(name): PAUSED since \(RFC3339.formatSeconds(unixMilliseconds: pause.pausedAt))\(pause.reason.map { " (\($0))" } ?? ""); "
                    + "\(ProgressDisplay.group(undelivered)) events wait; `outbox meters resume \(name)` lets them go")
        }
        for name in status.meters.keys.sorted() where status.meters[name]!.lateRejected > 0 {
            let count = status.meters[name]!.lateRejected
            lines.append(
                "meter \(name): \(ProgressDisplay.group(count)) event\(count == 1 ? "" : "s") rejected by Zuora after its 200 (found by `outbox reconcile`)")
        }
        for hold in holds where status.totals.undelivered > 0 {
            lines.append(
                "held back: the shared \(hold.budget) request budget is spent until \(RFC3339.formatSeconds(unixMilliseconds: hold.until)) "
                    + "(every dispatcher of this outbox waits; see --max-requests-per-minute/-hour/-day, --max-concurrent-requests)")
        }
        if status.totals.dead > 0 {
            lines.append("\(status.totals.dead) dead letter\(status.totals.dead == 1 ? "" : "s"): see `outbox dead-letters list`")
        }
        return lines.joined(separator: "\n")
    }
}

/// Plain aligned columns.
enum Table {
    /// `text` cut to `width` characters, ending in "…" when it was cut.
    static func cell(_ text: String, width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }

    static func render(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> [String] {
        let all = [header] + rows
        let widths = (0..<header.count).map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? padding + cell : cell + padding
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
    }
}
