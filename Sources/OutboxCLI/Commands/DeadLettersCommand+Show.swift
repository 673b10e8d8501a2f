import ArgumentParser
import Foundation
import UsageOutbox

extension DeadLettersCommand {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Show one dead letter whole: the event, Zuora's status and answer, attempts, track, request and process ids, times, and the history of its answers."
        )

        @Argument(help: "The dead letter's id (from `list`), whole or a unique prefix of at least 6 characters.") var id: String
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await reportingFailures {
                try await database.withStore { outbox in
                    let whole = try await DeadLettersCommand.resolve([id], meter: nil, in: outbox, changing: false)[0]
                    guard let letter = try await outbox.deadLetter(id: whole) else {
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
                        "attempts:      \(letter.attempts)   (requests that carried it)",
                        "track id:      \(letter.trackID ?? "-")   (quote it to Zuora support)",
                        "request id:    \(letter.requestID ?? "-")",
                        "process id:    \(DeadLettersCommand.processID(in: letter.responseBody) ?? "-")",
                        "appended at:   \(RFC3339.format(unixMilliseconds: letter.createdAt))",
                        "dead since:    \(RFC3339.format(unixMilliseconds: letter.deadAt))",
                        "event:         \(letter.event)",
                        "Zuora said:    \(letter.responseBody ?? "-")",
                    ]
                    Stdout.print((lines + DeadLettersCommand.historyLines(letter.history)).joined(separator: "\n"))
                }
            }
        }
    }
}
