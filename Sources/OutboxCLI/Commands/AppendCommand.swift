import ArgumentParser
import Foundation
import UsageOutbox

struct AppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append usage events to the outbox, all or nothing.",
        discussion: """
            Reads one JSON object, a JSON array of objects, or NDJSON (one object per line) \
            from --file or stdin. Each event needs CustomerId and UsageIdentifier (non-empty \
            strings), UsageDate (like 2026-11-29T10:00:00Z) and Quantity (a number); every \
            other field is kept and forwarded as given.

            If any event is invalid, nothing is appended: each one is reported with its line \
            or array position and the reason, and the exit code is 65. On success the events \
            are durable before the command exits.

            Example:  outbox append --meter api-calls --file events.ndjson
            """
    )

    @Option(name: .long, help: ArgumentHelp("The Zuora meter's global id the events belong to.", valueName: "meter"))
    var meter: String

    @Option(name: .long, help: ArgumentHelp("Read events from this file instead of stdin.", valueName: "path"))
    var file: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The field holding each event's id: an id the meter already holds is not appended again (a retry is harmless), and an event that lacks the field gets the outbox's UUIDv7 written into it. Default: $OUTBOX_EVENT_ID_FIELD.",
            valueName: "name"))
    var eventIdField: String?

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await reportingFailures {
            try MeterName.validate(meter)
            let input = try InputSource(path: file)
            defer { input.close() }
            if input.isTerminal {
                Stderr.print("reading events from the terminal; end with Ctrl-D (or pass --file PATH)")
            }
            let settings = try await database.resolve()
            try await settings.withStore(eventIdField: eventIdField, creating: true) { outbox in
                let progress = ProgressDisplay(title: "appending", totalBytes: input.size, unit: "events")
                let counts = try await outbox.appendStreamReporting(fileDescriptor: input.fileDescriptor, meter: meter) { bytes, events in
                    progress.update(bytes: bytes, count: events)
                }
                progress.finish()
                let (appended, duplicates) = (counts.appended, counts.duplicates)
                if output.json {
                    Stdout.print(
                        JSONValue.object([
                            "appended": .integer(Int64(appended)), "duplicates": .integer(Int64(duplicates)), "meter": .string(meter),
                        ]).jsonText)
                } else {
                    var line = "appended \(appended) event\(appended == 1 ? "" : "s") to meter \(meter) in \(settings.displayLocation)"
                    if duplicates > 0 {
                        line += "; \(duplicates) duplicate\(duplicates == 1 ? "" : "s") of an id the meter already held, not appended again"
                    }
                    Stderr.print(line)
                }
            }
        }
    }
}

/// Where `append` reads from: a file, or stdin.
struct InputSource {
    let fileDescriptor: Int32
    let ownsDescriptor: Bool
    /// Size in bytes when known (a regular file), for the progress display.
    let size: Int?

    init(path: String?) throws {
        if let path {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw CommandFailure(
                    "cannot open --file \(path): \(String(cString: strerror(errno)))",
                    hint: "check the path, or pipe the events on stdin", exitCode: Exit.usage)
            }
            fileDescriptor = fd
            ownsDescriptor = true
        } else {
            fileDescriptor = STDIN_FILENO
            ownsDescriptor = false
        }
        var info = stat()
        if fstat(fileDescriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
            size = Int(info.st_size)
        } else {
            size = nil
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw CommandFailure("--file \(path ?? "-") is a directory", hint: "pass a file of events", exitCode: Exit.usage)
        }
    }

    var isTerminal: Bool { isatty(fileDescriptor) != 0 }

    func close() {
        if ownsDescriptor { _ = Foundation.close(fileDescriptor) }
    }
}
