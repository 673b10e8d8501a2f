import ArgumentParser
import UsageOutbox

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Check that no event was lost: per meter, appended = pending + inflight + failed + sent + dead + purged, the counters match the rows, and SQLite's quick_check passes.",
        discussion: """
            The purged events are told apart: sent events deleted by retention, and dead letters purged (never billed). \
            Exits 0 when everything adds up, 1 on a counter mismatch, 74 when SQLite finds the file damaged.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions

    /// What the purged events were: sent, or dead letters never billed
    /// (and, upgraded from before schema 8, purges not told apart).
    static func purgedParts(_ check: VerifyReport.MeterCheck) -> String {
        guard check.counters.purged != 0 else { return "" }
        var parts = ["sent \(check.purgedSent)", "dead letters \(check.counters.purgedDead), never billed"]
        if check.purgedBeforeSplit != 0 { parts.append("\(check.purgedBeforeSplit) before schema 8, sent or dead") }
        return " (" + parts.joined(separator: "; ") + ")"
    }

    func run() async throws {
        try await reportingFailures {
            let settings = try await database.resolve()
            try await settings.withStore { outbox in
                let report = try await outbox.verify()
                if output.json {
                    Stdout.print(
                        JSONValue.object([
                            "ok": .bool(report.isOK), "integrity": .array(report.integrity.map { .string($0) }),
                            "meters": .object(
                                Dictionary(
                                    uniqueKeysWithValues: report.meters.map { check in
                                        (
                                            check.meter,
                                            JSONValue.object([
                                                "appended": .integer(Int64(check.counters.appended)), "purged": .integer(Int64(check.counters.purged)),
                                                "purged_sent": .integer(Int64(check.purgedSent)), "purged_dead": .integer(Int64(check.counters.purgedDead)),
                                                "purged_before_split": .integer(Int64(check.purgedBeforeSplit)),
                                                "counters": .object(StatusReport.counts(check.counters)), "rows": .object(StatusReport.counts(check.rows)),
                                                "problems": .array(check.problems.map { .string($0) }),
                                            ])
                                        )
                                    })),
                        ]).jsonText)
                } else {
                    for check in report.meters {
                        let c = check.counters
                        let verdict = check.problems.isEmpty ? "ok" : "MISMATCH: " + check.problems.joined(separator: "; ")
                        Stdout.print(
                            "meter \(check.meter): appended \(c.appended) = pending \(c.pending) + inflight \(c.inflight) + failed \(c.failed) + sent \(c.sent) + dead \(c.dead) + purged \(c.purged)\(Self.purgedParts(check)): \(verdict)"
                        )
                    }
                    Stdout.print("quick_check: \(report.integrity.joined(separator: "; "))")
                }
                if !report.isIntact {
                    throw CommandFailure(
                        "SQLite's quick_check found damage in \(settings.displayLocation)",
                        hint: "stop writers, copy the file, and restore from a backup", exitCode: Exit.database)
                }
                if !report.isConsistent {
                    throw CommandFailure(
                        "the outbox's counters do not add up (see above)",
                        hint: "keep a copy of the file and report it; `outbox status` still shows the rows")
                }
            }
        }
    }
}
