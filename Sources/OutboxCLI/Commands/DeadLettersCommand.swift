import ArgumentParser
import Foundation
import UsageOutbox

struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "Inspect, re-drive and purge the events Zuora rejected.",
        discussion: """
            A dead letter is an event Zuora rejected on its own (HTTP 400, or a 2xx saying \
            "success": false, or too large alone), or one that ran out of --max-attempts. \
            Fix the cause (the meter's definition, the event), then `retry` it; or `export` \
            them, fix the events by hand, append them again and `purge` the originals.
            """,
        subcommands: [List.self, Show.self, Retry.self, Purge.self, Export.self],
        defaultSubcommand: List.self
    )

    static func json(_ letter: DeadLetter, full: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(letter.id), "meter": .string(letter.meter), "event": .rawJSON(letter.event),
            "status": letter.status.map { .integer(Int64($0)) } ?? .null, "reason": .string(letter.reason),
            "attempts": .integer(Int64(letter.attempts)), "dead_at": .string(RFC3339.format(unixMilliseconds: letter.deadAt)),
            "request_id": letter.requestID.map { .string($0) } ?? .null,
        ]
        if full {
            object["process_id"] = processID(in: letter.responseBody).map { .string($0) } ?? .null
            object["response_body"] = letter.responseBody.map { .string($0) } ?? .null
            object["track_id"] = letter.trackID.map { .string($0) } ?? .null
            object["created_at"] = .string(RFC3339.format(unixMilliseconds: letter.createdAt))
            object["updated_at"] = .string(RFC3339.format(unixMilliseconds: letter.updatedAt))
        }
        return .object(object)
    }

    /// Zuora's `processId` in an error answer, when it has one (support asks
    /// for it beside the request id).
    static func processID(in body: String?) -> String? {
        guard let body, let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return nil }
        return (object["processId"] as? String).flatMap { $0.isEmpty ? nil : $0 }
    }

    static func customer(of event: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any] else { return "?" }
        return (object["CustomerId"] as? String) ?? "?"
    }

    static func cutoff(_ olderThan: DurationArgument?) -> Int64? {
        olderThan.map { WallClock.nowMilliseconds() - Int64($0.seconds * 1000) }
    }

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

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one dead letter whole: the event, Zuora's status and answer, attempts, track, request and process ids, and times.")

        @Argument(help: "The dead letter's id (from `list`).") var id: String
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await reportingFailures {
                try await database.withStore { outbox in
                    guard let letter = try await outbox.deadLetter(id: id) else {
                        throw CommandFailure("no dead letter with id \(id)", hint: "list them with `outbox dead-letters list`", exitCode: Exit.invalidData)
                    }
                    if output.json {
                        Stdout.print(DeadLettersCommand.json(letter, full: true).jsonText)
                        return
                    }
                    let lines = [
                        "id:            \(letter.id)",
                        "meter:         \(letter.meter)",
                        "status:        \(letter.status.map(String.init) ?? "no answer")",
                        "reason:        \(letter.reason)",
                        "attempts:      \(letter.attempts)",
                        "track id:      \(letter.trackID ?? "-")   (quote it to Zuora support)",
                        "request id:    \(letter.requestID ?? "-")",
                        "process id:    \(DeadLettersCommand.processID(in: letter.responseBody) ?? "-")",
                        "appended at:   \(RFC3339.format(unixMilliseconds: letter.createdAt))",
                        "dead since:    \(RFC3339.format(unixMilliseconds: letter.deadAt))",
                        "event:         \(letter.event)",
                        "Zuora said:    \(letter.responseBody ?? "-")",
                    ]
                    Stdout.print(lines.joined(separator: "\n"))
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put dead letters back to pending, with fresh attempts, for the next drain.")

        @Argument(help: "Ids of the dead letters to retry.") var ids: [String] = []
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
                    let count = try await outbox.retryDeadLetters(DeadLetterSelection(ids: all ? nil : ids, meter: meter))
                    if output.json {
                        Stdout.print(JSONValue.object(["retried": .integer(Int64(count))]).jsonText)
                    } else {
                        Stderr.print("\(count) dead letter\(count == 1 ? "" : "s") back to pending; the next `outbox drain` sends them")
                    }
                }
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead letters for good.")

        @Argument(help: "Ids of the dead letters to delete.") var ids: [String] = []
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
                    let selection = DeadLetterSelection(ids: ids.isEmpty ? nil : ids, meter: meter, deadBefore: DeadLettersCommand.cutoff(olderThan))
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
        private func preview(_ selection: DeadLetterSelection, in outbox: any OutboxStore) async throws {
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
        private func selected(_ selection: DeadLetterSelection, in outbox: any OutboxStore) async throws -> [DeadLetter] {
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

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write dead letters' original events as NDJSON, to fix by hand and `outbox append` again.",
            discussion: "Example:  outbox dead-letters export --meter api-calls > fix.ndjson  (edit)  outbox append --meter api-calls --file fix.ndjson")

        @Option(name: .long, help: "Only this meter.") var meter: String?
        @Option(name: .long, help: ArgumentHelp("Write here instead of stdout.", valueName: "path")) var file: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingFailures {
                try await database.withStore { outbox in
                    let letters = try await outbox.deadLetters(meter: meter, deadBefore: nil, limit: Int.max)
                    let text = letters.map(\.event).joined(separator: "\n") + (letters.isEmpty ? "" : "\n")
                    if let file {
                        try PrivateFile.write(Data(text.utf8), to: file)
                    } else {
                        FileHandle.standardOutput.write(Data(text.utf8))
                    }
                    let meters = Set(letters.map(\.meter))
                    Stderr.print(
                        "exported \(letters.count) event\(letters.count == 1 ? "" : "s")\(meters.count > 1 ? " from \(meters.count) meters (append each meter's separately)" : "")"
                    )
                }
            }
        }
    }
}
