import ArgumentParser
import Foundation
import UsageOutbox

extension DeadLettersCommand {
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
