import ArgumentParser
import UsageOutbox

struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete events Zuora accepted long enough ago, and shrink the database file.",
        discussion: "Delivered events are kept (for `status`, `verify` and audits) until purged. Example:  outbox purge --sent-older-than 7d"
    )

    @Option(name: .long, help: ArgumentHelp("Delete events sent longer ago than this (e.g. 7d, 12h).", valueName: "duration"))
    var sentOlderThan: DurationArgument

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await reportingFailures {
            try await database.withStore { outbox in
                let result = try await outbox.purgeSent(before: WallClock.nowMilliseconds() - Int64(sentOlderThan.seconds * 1000))
                if output.json {
                    Stdout.print(JSONValue.object(["purged": .integer(Int64(result.purged)), "bytes_freed": .integer(result.bytesFreed)]).jsonText)
                } else {
                    Stderr.print(
                        "purged \(ProgressDisplay.group(result.purged)) sent events; the file shrank by \(ProgressDisplay.group(Int(result.bytesFreed))) bytes")
                }
            }
        }
    }
}
