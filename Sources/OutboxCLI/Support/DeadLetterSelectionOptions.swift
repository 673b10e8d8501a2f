import ArgumentParser
import UsageOutbox

/// Which dead letters `dead-letters list` and `export` read: each flag
/// given narrows the selection, which the store applies in its query.
struct DeadLetterSelectionOptions: ParsableArguments {
    @Option(name: .long, help: "Only this meter.")
    var meter: String?

    @Option(name: .long, help: ArgumentHelp("Only those Zuora answered with this HTTP status (e.g. 400, 413).", valueName: "code"))
    var status: Int?

    @Option(name: .long, help: ArgumentHelp("Only those whose reason contains this text (ASCII letters in any case).", valueName: "text"))
    var reasonContains: String?

    @Option(name: .long, help: ArgumentHelp("Only those dead for longer than this (e.g. 2h, 7d).", valueName: "duration"))
    var olderThan: DurationArgument?

    @Option(name: .long, help: ArgumentHelp("Only those dead for less than this (e.g. 30m, 1d).", valueName: "duration"))
    var newerThan: DurationArgument?

    func validate() throws {
        if let status, !(100...599).contains(status) { throw ValidationError("--status takes an HTTP status, 100 to 599 (got \(status))") }
        if reasonContains?.isEmpty == true { throw ValidationError("--reason-contains needs some text") }
        if let olderThan, let newerThan, newerThan.seconds <= olderThan.seconds {
            throw ValidationError(
                "--newer-than \(newerThan) and --older-than \(olderThan) select nothing (dead less than \(newerThan) ago, yet more than \(olderThan) ago): --newer-than must be the longer, e.g. --newer-than 7d --older-than 1d"
            )
        }
    }

    /// The selection, its durations counted back from `now` (unix ms).
    func filter(now: Int64) -> DeadLetterFilter {
        DeadLetterFilter(
            meter: meter, deadBefore: olderThan.map { now - Int64($0.seconds * 1000) }, deadSince: newerThan.map { now - Int64($0.seconds * 1000) },
            status: status, reasonContains: reasonContains)
    }

    /// Whether any flag narrows the selection.
    var narrows: Bool { meter != nil || status != nil || reasonContains != nil || olderThan != nil || newerThan != nil }

    /// What a listing says when it finds none.
    var nothingSelected: String { narrows ? "no dead letters selected" : "no dead letters" }
}
