import ArgumentParser
import Foundation
import UsageOutbox

extension DeadLettersCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters, newest first: id, meter, customer, status, reason, age.")

        @OptionGroup var selection: DeadLetterSelectionOptions
        @Option(name: .long, help: "At most this many.") var limit: Int = 100
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
        }

        func run() async throws {
            try await reportingFailures {
                try await database.withStore { outbox in
                    let letters = try await outbox.deadLetters(selection.filter(now: WallClock.nowMilliseconds()), limit: limit, withHistory: false)
                    if output.json {
                        Stdout.print(JSONValue.array(letters.map { DeadLettersCommand.json($0, full: false) }).jsonText)
                        return
                    }
                    guard !letters.isEmpty else {
                        Stdout.print(selection.narrows ? "no dead letters selected" : "no dead letters")
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
    }
}
