import ArgumentParser
import Foundation
import UsageOutbox

/// Options every command that opens the database takes.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The outbox database file.", discussion: "Default: $OUTBOX_DB, else ./outbox.sqlite. Created and migrated as needed.", valueName: "path"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("How long to wait for another process's write lock, in milliseconds.", valueName: "ms"))
    var busyTimeout: Int = 5000

    @Option(name: .long, help: ArgumentHelp("Commit durability: full (sync every commit; survives power loss) or normal (faster; a power cut may lose the last commits).", valueName: "full|normal"))
    var durability: OutboxConfiguration.Durability = .full

    var path: String {
        if let db, !db.isEmpty { return db }
        if let env = ProcessInfo.processInfo.environment["OUTBOX_DB"], !env.isEmpty { return env }
        return "./outbox.sqlite"
    }

    func configuration(eventIdField: String? = nil) -> OutboxConfiguration {
        OutboxConfiguration(path: path, durability: durability, busyTimeoutMilliseconds: busyTimeout,
                            eventIdField: eventIdField, allowForeignTables: false)
    }

    func open(eventIdField: String? = nil) throws -> Outbox {
        try Outbox(configuration(eventIdField: eventIdField))
    }

    func validate() throws {
        guard busyTimeout >= 0 else { throw ValidationError("--busy-timeout must be 0 or more milliseconds") }
    }
}

extension OutboxConfiguration.Durability: ExpressibleByArgument {}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON on stdout; human text goes to stderr.")
    var json = false
}
