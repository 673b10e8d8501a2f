import ArgumentParser
import Foundation
import OutboxPostgres
import UsageOutbox

/// Options every command that opens the database takes.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The outbox database file.", discussion: "Default: $OUTBOX_DB, else the config file's \"db\", else ./outbox.sqlite. Created and migrated as needed.", valueName: "path"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("How long to wait for another process's write lock, in milliseconds (default 5000, $OUTBOX_BUSY_TIMEOUT).", valueName: "ms"))
    var busyTimeout: Int?

    @Option(name: .long, help: ArgumentHelp("Commit durability: full (sync every commit; survives power loss; default) or normal (faster; a power cut may lose the last commits). $OUTBOX_DURABILITY.", valueName: "full|normal"))
    var durability: OutboxConfiguration.Durability?

    @Option(name: .long, help: ArgumentHelp("A JSON config file of option values (default: $OUTBOX_CONFIG). Flags and environment override it.", valueName: "path"))
    var config: String?

    func validate() throws {
        if let busyTimeout, busyTimeout < 0 { throw ValidationError("--busy-timeout must be 0 or more milliseconds") }
    }

    /// The settings in effect: flags, then environment, then config file, then defaults.
    func resolve() async throws -> DatabaseSettings {
        let file = try await ConfigFile.load(path: config)
        let path = try Resolved.resolve(flag: db, environment: Environment.string("OUTBOX_DB"), file: file.string("db"), default: "./outbox.sqlite")
        let busy = try Resolved.resolve(flag: busyTimeout, environment: Environment.int("OUTBOX_BUSY_TIMEOUT"), file: file.int("busy-timeout"), default: 5000)
        let durabilityText = try Resolved.resolve(flag: durability?.rawValue, environment: Environment.string("OUTBOX_DURABILITY"),
                                                  file: file.string("durability"), default: "full")
        guard let level = OutboxConfiguration.Durability(rawValue: durabilityText.value) else {
            throw CommandFailure("durability must be full or normal, got \(durabilityText.value) (from \(durabilityText.source))", exitCode: Exit.usage)
        }
        let eventIdField = try Resolved.resolve(flag: nil as String?, environment: Environment.string("OUTBOX_EVENT_ID_FIELD"),
                                                file: file.string("event-id-field"), default: "")
        return DatabaseSettings(file: file, path: path, busyTimeout: busy, durability: Resolved(value: level, source: durabilityText.source),
                                eventIdField: eventIdField)
    }

    /// Opens the store, runs `body`, and closes the store, even on error.
    func withStore<T>(eventIdField: String? = nil, _ body: (any OutboxStore) async throws -> T) async throws -> T {
        try await resolve().withStore(eventIdField: eventIdField, body)
    }
}

struct DatabaseSettings {
    let file: ConfigFile
    let path: Resolved<String>
    let busyTimeout: Resolved<Int>
    let durability: Resolved<OutboxConfiguration.Durability>
    let eventIdField: Resolved<String>

    /// The store `--db` names: a `postgres://` URL opens the PostgreSQL
    /// store (password from OUTBOX_DB_PASSWORD, PGPASSWORD or
    /// OUTBOX_DB_PASSWORD_FILE), anything else an SQLite file.
    func open(eventIdField explicit: String? = nil) async throws -> any OutboxStore {
        let field = explicit ?? (eventIdField.value.isEmpty ? nil : eventIdField.value)
        if PostgresLocation.isPostgresURL(path.value) {
            let password = try PostgresLocation.password(environment: Environment.values)
            return try await PostgresOutbox.open(url: path.value, password: password, eventIdField: field)
        }
        return try Outbox(OutboxConfiguration(path: path.value, durability: durability.value, busyTimeoutMilliseconds: busyTimeout.value,
                                              eventIdField: field, allowForeignTables: false))
    }

    func withStore<T>(eventIdField: String? = nil, _ body: (any OutboxStore) async throws -> T) async throws -> T {
        let store = try await open(eventIdField: eventIdField)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// Where the store is, for messages: a path, or the URL without password.
    var displayLocation: String {
        PostgresLocation.isPostgresURL(path.value) ? ((try? PostgresLocation(url: path.value))?.description ?? "the PostgreSQL outbox") : path.value
    }
}

extension OutboxConfiguration.Durability: ExpressibleByArgument {}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON on stdout; human text goes to stderr.")
    var json = false
}
