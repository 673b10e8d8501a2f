import ArgumentParser
import Foundation
import UsageOutbox

extension DeadLettersCommand {
    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead letters for good.")

        @Argument(help: "Ids of the dead letters to delete (each whole, or a unique prefix of at least 6 characters).") var ids: [String] = []
        @Flag(name: .long, help: "Delete every dead letter (of --meter, older than --older-than, if given).") var all = false
        @Option(name: .long, help: "Only this meter.") var meter: String?
        @Option(name: .long, help: ArgumentHelp("Only those dead for longer than this (e.g. 30d).", valueName: "duration")) var olderThan: DurationArgument?
        @Flag(name: .long, help: "List what would be deleted, and delete nothing.") var dryRun = false
        @Flag(name: .long, help: "Confirm deleting every dead letter (asked for only from a terminal).") var yes = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if !ids.isEmpty && (all || olderThan != nil) { throw ValidationError("give ids, or --all / --older-than, not both") }
            if ids.isEmpty && !all && olderThan == nil { throw ValidationError("give dead-letter ids, --all, or --older-than") }
        }

        func run() async throws {
            try await reportingFailures {
                try await database.withStore { outbox in
                    let chosen = ids.isEmpty ? nil : try await DeadLettersCommand.resolve(ids, meter: meter, in: outbox)
                    let selection = DeadLetterSelection(ids: chosen, meter: meter, deadBefore: DeadLettersCommand.cutoff(olderThan))
                    if dryRun {
                        try await preview(selection, in: outbox)
                        return
                    }
                    // Dead letters were never billed: deleting them all drops
                    // that revenue for good, so a person confirms it.
                    if !yes && Stdin.isTerminal {
                        let chosen = try await selected(selection, in: outbox).count
                        let total = try await outbox.status().totals.dead
                        if chosen > 0 && chosen >= total {
                            throw CommandFailure(
                                "this would delete every dead letter (\(chosen)), events Zuora never billed",
                                hint: "add --yes to delete them, or --dry-run to list them first", exitCode: Exit.usage)
                        }
                    }
                    let count = try await outbox.purgeDeadLetters(selection)
                    if output.json {
                        Stdout.print(JSONValue.object(["purged": .integer(Int64(count))]).jsonText)
                    } else {
                        Stderr.print("deleted \(count) dead letter\(count == 1 ? "" : "s")")
                    }
                }
            }
        }

        /// The dead letters `selection` names, listed without deleting any.
        private func preview(_ selection: DeadLetterSelection, in outbox: any OperatedStore) async throws {
            let letters = try await selected(selection, in: outbox)
            if output.json {
                Stdout.print(
                    JSONValue.object([
                        "would_purge": .integer(Int64(letters.count)), "dry_run": .bool(true), "ids": .array(letters.map { .string($0.id) }),
                    ]).jsonText)
            } else {
                for letter in letters { Stderr.print("\(letter.id)  \(letter.meter)  \(letter.reason)") }
                Stderr.print("would delete \(letters.count) dead letter\(letters.count == 1 ? "" : "s") (dry run: nothing deleted)")
            }
        }

        /// The dead letters `selection` names; unknown ids are an error, as
        /// for the purge itself.
        private func selected(_ selection: DeadLetterSelection, in outbox: any OperatedStore) async throws -> [DeadLetter] {
            var letters = try await outbox.deadLetters(meter: selection.meter, deadBefore: selection.deadBefore, limit: Int.max)
            if let wanted = selection.ids {
                let known = Set(letters.map(\.id))
                let unknown = Array(Set(wanted).subtracting(known)).sorted()
                if !unknown.isEmpty {
                    throw CommandFailure(
                        "no dead letter with id \(unknown.prefix(5).joined(separator: ", "))\(selection.meter.map { " in meter \($0)" } ?? "")",
                        hint: "list the dead letters to find their ids", exitCode: Exit.invalidData)
                }
                letters = letters.filter { wanted.contains($0.id) }
            }
            return letters
        }
    }
}
