import ArgumentParser
import Foundation
import UsageOutbox

struct MetersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meters",
        abstract: "List meters, and pause or resume one without stopping the drain.",
        discussion: """
            A paused meter keeps taking appends; no dispatcher claims its events until it is \
            resumed (the pause is stored in the database, so every worker sees it). \
            `drain --once` leaves a paused meter's events alone and reports them as paused.

            Example:  outbox meters pause api-calls --reason "meter being reconfigured in Zuora"
            """,
        subcommands: [List.self, Pause.self, Resume.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each meter, whether it is paused and why, and its counts.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await reportingFailures {
                try await database.withStore { outbox in
                    let status = try await outbox.status()
                    let names = status.meters.keys.sorted()
                    if output.json {
                        Stdout.print(
                            JSONValue.array(
                                names.map { name in
                                    let meter = status.meters[name]!
                                    return .object([
                                        "meter": .string(name), "paused": .bool(meter.pause != nil),
                                        "reason": meter.pause?.reason.map { .string($0) } ?? .null,
                                        "paused_at": meter.pause.map { .string(RFC3339.format(unixMilliseconds: $0.pausedAt)) } ?? .null,
                                        "pending": .integer(Int64(meter.counts.pending)), "inflight": .integer(Int64(meter.counts.inflight)),
                                        "failed": .integer(Int64(meter.counts.failed)), "sent": .integer(Int64(meter.counts.sent)),
                                        "dead": .integer(Int64(meter.counts.dead)), "late_rejected": .integer(Int64(meter.lateRejected)),
                                    ])
                                }
                            ).jsonText)
                        return
                    }
                    guard !names.isEmpty else {
                        Stderr.print("no meters yet: append events with `outbox append --meter METER`")
                        return
                    }
                    let rows = names.map { name -> [String] in
                        let meter = status.meters[name]!
                        let state = meter.pause.map { pause in "paused " + RFC3339.formatSeconds(unixMilliseconds: pause.pausedAt) } ?? "active"
                        return [
                            name, state, ProgressDisplay.group(meter.counts.pending), ProgressDisplay.group(meter.counts.failed),
                            ProgressDisplay.group(meter.counts.sent), ProgressDisplay.group(meter.counts.dead),
                            Table.cell(meter.pause?.reason ?? "", width: 50),
                        ]
                    }
                    Stdout.print(
                        Table.render(
                            header: ["METER", "STATE", "PENDING", "FAILED", "SENT", "DEAD", "REASON"], rows: rows,
                            rightAligned: Set(2...5)
                        ).joined(separator: "\n"))
                }
            }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop dispatchers from claiming a meter's events; appends go on.")

        @Argument(help: "The meter's global id.")
        var meter: String

        @Option(name: .long, help: ArgumentHelp("Why, for whoever reads `outbox status`.", valueName: "text"))
        var reason: String?

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingFailures {
                try await database.withStore { outbox in
                    try await outbox.pauseMeter(meter, reason: reason)
                    Stderr.print("meter \(meter) paused: appends go on, no drain claims its events until `outbox meters resume \(meter)`")
                }
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let dispatchers claim a paused meter's events again.")

        @Argument(help: "The meter's global id.")
        var meter: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingFailures {
                try await database.withStore { outbox in
                    try await outbox.resumeMeter(meter)
                    Stderr.print("meter \(meter) resumed")
                }
            }
        }
    }
}
