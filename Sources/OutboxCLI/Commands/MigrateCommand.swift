import ArgumentParser
import UsageOutbox

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create the outbox database, or bring its schema up to date, and do nothing else."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await reportingFailures {
            let settings = try await database.resolve()
            try await settings.withStore(creating: true) { _ in }
            if output.json {
                Stdout.print(JSONValue.object(["schema_version": .integer(Int64(Migration.latestVersion)), "db": .string(settings.displayLocation)]).jsonText)
            } else {
                Stderr.print("\(settings.displayLocation) is at schema version \(Migration.latestVersion)")
            }
        }
    }
}
