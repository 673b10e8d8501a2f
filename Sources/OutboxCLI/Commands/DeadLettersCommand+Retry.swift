import ArgumentParser
import Foundation
import UsageOutbox

extension DeadLettersCommand {
    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put dead letters back to pending, with fresh attempts, for the next drain.")

        @Argument(help: "Ids of the dead letters to retry (each whole, or a unique prefix of at least 6 characters).") var ids: [String] = []
        @Flag(name: .long, help: "Retry every dead letter (of --meter, if given).") var all = false
        @Option(name: .long, help: "Only this meter.") var meter: String?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if ids.isEmpty == !all { throw ValidationError("give dead-letter ids, or --all (not both)") }
        }

        func run() async throws {
            try await reportingFailures {
                try await database.withStore { outbox in
                    let chosen = all ? nil : try await DeadLettersCommand.resolve(ids, meter: meter, in: outbox)
                    let count = try await outbox.retryDeadLetters(DeadLetterSelection(ids: chosen, meter: meter))
                    if output.json {
                        Stdout.print(JSONValue.object(["retried": .integer(Int64(count))]).jsonText)
                    } else {
                        Stderr.print("\(count) dead letter\(count == 1 ? "" : "s") back to pending; the next `outbox drain` sends them")
                    }
                }
            }
        }
    }
}
