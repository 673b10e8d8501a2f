import ArgumentParser
import Foundation
import UsageOutbox

extension DeadLettersCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters, newest first: id, meter, customer, status, reason, age.")

        @Option(name: .long, help: "Only this meter.") var meter: String?
        @Option(name: .long, help: ArgumentHelp("Only those dead for longer than this (e.g. 2h, 7d).", valueName: "duration")) var olderThan: DurationArgument?
        @Option(name: .long, help: "At most this many.") var limit: Int = 100
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
        }

        func run() async throws {
            try await reportingFailures {
                try await database.withStore { outbox in
                    let letters = try await outbox.deadLetters(meter: meter, deadBefore: DeadLettersCommand.cutoff(olderThan), limit: limit)
                    if output.json {
                        Stdout.print(JSONValue.array(letters.map { DeadLettersCommand.json($0, full: false) }).jsonText)
                        return
                    }
                    guard !letters.isEmpty else {
                        Stdout.print("no dead letters\(meter.map { " for meter \($0)" } ?? "")")
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
                    if total > letters.count { Stdout.print("(\(letters.count) of \(total); use --limit or --meter to see others)") }
                    Stderr.print("details: outbox dead-letters show ID   re-drive: outbox dead-letters retry ID...|--all")
                }
            }
        }
    }
}
