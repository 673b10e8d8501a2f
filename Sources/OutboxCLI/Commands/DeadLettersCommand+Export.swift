import ArgumentParser
import Foundation
import UsageOutbox

extension DeadLettersCommand {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write dead letters' original events as NDJSON, to fix by hand and `outbox append` again.",
            discussion: """
                Example:  outbox dead-letters export --meter api-calls > fix.ndjson  (edit)  outbox append --meter api-calls --file fix.ndjson
                Select with --meter, --status, --reason-contains, --older-than and --newer-than (all must hold), e.g. \
                `--status 400 --reason-contains "active account" --newer-than 1d`.
                With --full, each line is the whole dead letter instead (as `show --json` prints it: Zuora's answer, attempts, \
                the history of its answers), for a ticket or an audit; not for appending again.
                """)

        @OptionGroup var selection: DeadLetterSelectionOptions
        @Option(name: .long, help: ArgumentHelp("Write here instead of stdout.", valueName: "path")) var file: String?
        @Flag(name: .long, help: "Write whole dead letters (answer, attempts, history), one JSON object per line, instead of the events alone.")
        var full = false
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingFailures {
                try await database.withStore { outbox in
                    let letters = try await outbox.deadLetters(selection.filter(now: WallClock.nowMilliseconds()), limit: Int.max, withHistory: full)
                    // The events as appended (each line appends again as it
                    // is: any field added here would be forwarded to Zuora),
                    // or whole dead letters.
                    let lines = full ? letters.map { DeadLettersCommand.json($0, full: true).jsonText } : letters.map(\.event)
                    let text = lines.joined(separator: "\n") + (letters.isEmpty ? "" : "\n")
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
