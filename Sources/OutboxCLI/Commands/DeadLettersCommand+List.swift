import ArgumentParser
import Foundation
import UsageOutbox

extension DeadLettersCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List dead letters, newest first: id, meter, customer, status, reason, age; or count them by cause (--group-by reason).")

        enum Grouping: String, ExpressibleByArgument, CaseIterable {
            case reason
        }

        @OptionGroup var selection: DeadLetterSelectionOptions
        @Option(
            name: .long,
            help: ArgumentHelp(
                "Count them by cause instead: Zuora's status and the reason's first line (its first 80 characters), largest first.",
                valueName: "reason"))
        var groupBy: Grouping?
        @Option(name: .long, help: "At most this many (dead letters, or causes with --group-by).") var limit: Int = 100
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
        }

        func run() async throws {
            try await reportingFailures {
                try await database.withStore { outbox in
                    if groupBy == .reason {
                        try await causes(outbox)
                        return
                    }
                    let letters = try await outbox.deadLetters(selection.filter(now: WallClock.nowMilliseconds()), limit: limit, withHistory: false)
                    if output.json {
                        Stdout.print(JSONValue.array(letters.map { DeadLettersCommand.json($0, full: false) }).jsonText)
                        return
                    }
                    guard !letters.isEmpty else {
                        Stdout.print(selection.nothingSelected)
                        return
                    }
                    let now = WallClock.nowMilliseconds()
                    let rows = letters.map { letter in
                        [
                            letter.id, letter.meter, DeadLettersCommand.customer(of: letter.event), letter.status.map(String.init) ?? "-",
                            Table.cell(letter.reason, width: 70), ProgressDisplay.duration(Double(now - letter.deadAt) / 1000),
                        ]
                    }
                    Stdout.print(Table.render(header: ["ID", "METER", "CUSTOMER", "STATUS", "REASON", "AGE"], rows: rows).joined(separator: "\n"))
                    let total = try await outbox.status().totals.dead
                    if !selection.narrows && total > letters.count {
                        Stdout.print("(\(letters.count) of \(total); use --limit or --meter to see others)")
                    } else if selection.narrows && letters.count == limit {
                        Stdout.print("(the newest \(limit) selected; use --limit to see more)")
                    }
                    Stderr.print("details: outbox dead-letters show ID   re-drive: outbox dead-letters retry ID...|--all")
                }
            }
        }

        /// The dead letters selected, counted by cause.
        private func causes(_ outbox: any OperatedStore) async throws {
            let causes = Array(
                DeadLetterCauses.merge(try await outbox.deadLetterTallies(selection.filter(now: WallClock.nowMilliseconds()))).prefix(limit))
            if output.json {
                Stdout.print(
                    JSONValue.array(
                        causes.map { cause in
                            .object([
                                "status": cause.status.map { .integer(Int64($0)) } ?? .null, "reason": .string(cause.reason),
                                "count": .integer(Int64(cause.count)), "meters": .array(cause.meters.map { .string($0) }),
                                "oldest_dead_at": .string(RFC3339.format(unixMilliseconds: cause.oldestDeadAt)),
                            ])
                        }
                    ).jsonText)
                return
            }
            guard !causes.isEmpty else {
                Stdout.print(selection.nothingSelected)
                return
            }
            let now = WallClock.nowMilliseconds()
            let rows = causes.map { cause in
                [
                    String(cause.count), cause.status.map(String.init) ?? "-", cause.reason, Table.cell(cause.meters.joined(separator: ","), width: 30),
                    ProgressDisplay.duration(Double(now - cause.oldestDeadAt) / 1000),
                ]
            }
            Stdout.print(Table.render(header: ["COUNT", "STATUS", "REASON", "METERS", "OLDEST"], rows: rows, rightAligned: [0]).joined(separator: "\n"))
            Stderr.print("the dead letters of one cause: outbox dead-letters list --status CODE --reason-contains TEXT")
        }
    }
}
