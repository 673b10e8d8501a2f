import ArgumentParser
import Foundation
import OutboxPostgres
import UsageOutbox

/// Options every command that opens the database takes.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong(Settings.db.key), help: Settings.db.help)
    var db: String?

    @Option(name: .customLong(Settings.busyTimeout.key), help: Settings.busyTimeout.help)
    var busyTimeout: Int?

    @Option(name: .customLong(Settings.durability.key), help: Settings.durability.help)
    var durability: OutboxConfiguration.Durability?

    @Option(
        name: .long, help: ArgumentHelp("A JSON config file of setting values (default: $OUTBOX_CONFIG). Flags and environment override it.", valueName: "path")
    )
    var config: String?

    /// The settings in effect: flags, then environment, then config file, then defaults.
    func resolve(record: SettingsRecord? = nil) async throws -> DatabaseSettings {
        let file = try await ConfigFile.load(path: config)
        record?.note("config-file", file.path ?? "(none)", file.path == nil ? .default : (config == nil ? .environment : .flag))
        return DatabaseSettings(
            file: file,
            path: try Settings.db.resolve(flag: db, file: file, record: record),
            busyTimeout: try Settings.busyTimeout.resolve(flag: busyTimeout, file: file, record: record),
            durability: try Settings.durability.resolve(flag: durability, file: file, record: record),
            eventIdField: try Settings.eventIdField.resolveOptional(flag: nil, file: file, record: record),
            // An event must fit a request on its own: the request body limit
            // the drains use (from the environment or the config file).
            maxBatchBytes: try Settings.maxBatchBytes.resolve(flag: nil, file: file, record: record))
    }

    /// Opens the store, runs `body`, and closes the store, even on error.
    /// `creating`: a missing SQLite file is made (only `append`, `migrate`
    /// and `drain`); otherwise it is an error naming the path, so a typo in
    /// `--db` never reports a healthy, empty outbox.
    func withStore<T>(eventIdField: String? = nil, creating: Bool = false, _ body: (any OperatedStore) async throws -> T) async throws -> T {
        try await resolve().withStore(eventIdField: eventIdField, creating: creating, body)
    }
}

struct DatabaseSettings {
    let file: ConfigFile
    let path: Resolved<String>
    let busyTimeout: Resolved<Int>
    let durability: Resolved<OutboxConfiguration.Durability>
    let eventIdField: Resolved<String?>
    let maxBatchBytes: Resolved<Int>

    var maxEventBytes: Int { EventSizeLimit.forRequests(ofAtMost: maxBatchBytes.value) }

    /// The store `--db` names: a `postgres://` URL opens the PostgreSQL
    /// store (password from OUTBOX_DB_PASSWORD, PGPASSWORD or
    /// OUTBOX_DB_PASSWORD_FILE), anything else an SQLite file.
    func open(eventIdField explicit: String? = nil, creating: Bool = false) async throws -> any OperatedStore {
        let field = explicit ?? eventIdField.value
        if PostgresLocation.isPostgresURL(path.value) {
            let location = try PostgresLocation(url: path.value)
            // A command line is public (`ps` shows it): a password there is
            // refused. From OUTBOX_DB or the config file it is as private as
            // the usual DATABASE_URL.
            if location.password != nil && path.source == .flag {
                throw CommandFailure(
                    "--db holds a password, which `ps` shows to every user of this machine; it was not used",
                    hint: "put the URL in OUTBOX_DB or the config file's \"db\", or the password in OUTBOX_DB_PASSWORD (or PGPASSWORD)",
                    exitCode: Exit.usage)
            }
            let password = try PostgresLocation.password(environment: Environment.values)
            return try await PostgresOutbox.open(url: path.value, password: password, eventIdField: field, maxEventBytes: maxEventBytes)
        }
        if !creating && isMissingSQLiteFile {
            throw CommandFailure(
                "there is no outbox at \(path.value)",
                hint: "check --db (or OUTBOX_DB, or the config file's \"db\"); only `outbox append`, `migrate` and `drain` create a new one",
                exitCode: Exit.database)
        }
        var configuration = OutboxConfiguration(
            path: path.value, durability: durability.value, busyTimeout: .milliseconds(busyTimeout.value), eventIdField: field, allowForeignTables: false)
        configuration.maxEventBytes = maxEventBytes
        return try Outbox(configuration)
    }

    func withStore<T>(eventIdField: String? = nil, creating: Bool = false, _ body: (any OperatedStore) async throws -> T) async throws -> T {
        let store = try await open(eventIdField: eventIdField, creating: creating)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// An SQLite path with no file there (yet). Only "no such file" counts:
    /// a file the user may not see, or a dangling link, is left for the
    /// open to report as what it is.
    var isMissingSQLiteFile: Bool {
        guard !path.value.isEmpty, !PostgresLocation.isPostgresURL(path.value) else { return false }
        var info = stat()
        return lstat(path.value, &info) != 0 && errno == ENOENT
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
