import ArgumentParser
import Foundation
import UsageOutbox

struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete events Zuora accepted long enough ago, and shrink the database file.",
        discussion: """
            Delivered events are kept (for `status`, `verify` and audits) until purged. Examples:
              outbox purge --sent-older-than 7d --dry-run    (says how many would go)
              outbox purge --sent-older-than 7d
            From a terminal, a purge that would delete every sent event asks for --yes.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Delete events sent longer ago than this (e.g. 7d, 12h; the unit is required).", valueName: "duration"))
    var sentOlderThan: DurationArgument

    @Flag(name: .long, help: "Say how many events would be deleted, and delete nothing.")
    var dryRun = false

    @Flag(name: .long, help: "Confirm a purge that deletes every sent event (asked for only from a terminal).")
    var yes = false

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await reportingFailures {
            try await database.withStore { outbox in
                let cutoff = WallClock.nowMilliseconds() - Int64(sentOlderThan.seconds * 1000)
                // Counted only when asked for, or when a person may be asked.
                let asks = !yes && Stdin.isTerminal
                let count = dryRun || asks ? try await outbox.purgeableSentCount(before: cutoff) : 0
                if dryRun {
                    if output.json {
                        Stdout.print(JSONValue.object(["would_purge": .integer(Int64(count)), "dry_run": .bool(true)]).jsonText)
                    } else {
                        Stderr.print("would purge \(ProgressDisplay.group(count)) sent events (dry run: nothing deleted)")
                    }
                    return
                }
                if asks, count > 0, count >= (try await outbox.status()).totals.sent {
                    throw CommandFailure(
                        "this purge would delete every sent event (\(ProgressDisplay.group(count)))",
                        hint: "check --sent-older-than \(sentOlderThan.text); add --yes to delete them, or --dry-run to look first", exitCode: Exit.usage)
                }
                let result = try await outbox.purgeSent(before: cutoff)
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
