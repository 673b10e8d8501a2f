import ArgumentParser
import Foundation
import UsageOutbox

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the outbox to a file while it is in use (a consistent snapshot, via VACUUM INTO).",
        discussion: "Safe while appends and drains run. Example:  outbox backup --to /backups/outbox-$(date +%F).sqlite"
    )

    @Option(name: .long, help: ArgumentHelp("The new file to write; it must not exist.", valueName: "path"))
    var to: String

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await reportingFailures {
            if FileManager.default.fileExists(atPath: to) {
                throw CommandFailure("\(to) already exists", hint: "pick a new file name; a backup never overwrites", exitCode: Exit.usage)
            }
            // Create it empty with mode 0600 first: VACUUM INTO fills an empty
            // file, so the copy is never readable by others, not even briefly.
            let fd = open(to, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else {
                throw CommandFailure("cannot create \(to): \(String(cString: strerror(errno)))", hint: "check the directory exists and is writable")
            }
            close(fd)
            do {
                try await backUp()
            } catch {
                // Nothing copied (no database there, or it cannot be
                // opened): no empty file is left to pass for a backup.
                try? FileManager.default.removeItem(atPath: to)
                throw error
            }
        }
    }

    private func backUp() async throws {
        try await database.withStore { store in
            guard let outbox = store as? Outbox else {
                throw CommandFailure(
                    "backup copies SQLite outboxes; \(store.location) is PostgreSQL",
                    hint: "back it up with pg_dump (or your database's own backups)", exitCode: Exit.usage)
            }
            try await outbox.backup(to: to)
            let size = (try? FileManager.default.attributesOfItem(atPath: to)[.size] as? NSNumber)?.intValue ?? 0
            if output.json {
                Stdout.print(JSONValue.object(["backup": .string(to), "bytes": .integer(Int64(size))]).jsonText)
            } else {
                Stderr.print("wrote a consistent copy to \(to) (\(ProgressDisplay.group(size)) bytes)")
            }
        }
    }
}
