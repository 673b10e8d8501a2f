import Foundation
import UsageOutbox

/// An outbox of schema 2 (the release before ranges) holding the rows the
/// upgrade tests start from: migrations 1 and 2 from `migrations/`, then
/// `Tests/OutboxDispatcherTests/Fixtures/sqlite-schema-v2-rows.sql`. The
/// migration scenario opens it under the recorder, so cuts fall inside
/// the upgrade to the current schema.
enum Schema2Database {
    static func write(at path: String, repository: URL) throws {
        let migrations = ["0001_outbox", "0002_reconcile_and_pause"]
        let fixture = repository.appendingPathComponent("Tests/OutboxDispatcherTests/Fixtures/sqlite-schema-v2-rows.sql")
        let connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute("BEGIN")
        try connection.execute(
            "CREATE TABLE outbox_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)")
        for (index, name) in migrations.enumerated() {
            let sql = try String(contentsOf: repository.appendingPathComponent("migrations/\(name).sql"), encoding: .utf8)
            try connection.execute(sql)
            try connection.execute(
                "INSERT INTO outbox_schema_migrations VALUES (?1, ?2, 0)", .integer(Int64(index + 1)), .text(String(name.dropFirst(5))))
        }
        try connection.execute(try String(contentsOf: fixture, encoding: .utf8))
        try connection.execute("COMMIT")
        // Everything in the main file, and no WAL beside it.
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try connection.execute("PRAGMA journal_mode = DELETE")
    }

    /// The fixture's events: how many, and the customers of those sent or
    /// dead (states 3 and 4 of schema 2).
    static func events(at path: String) throws -> (count: Int, settled: Set<String>) {
        let connection = try SQLiteConnection(path: path, readOnly: true)
        let statement = try connection.prepare("SELECT CAST(body AS TEXT), state FROM outbox_events")
        var count = 0
        var settled: Set<String> = []
        while try statement.step() {
            count += 1
            if statement.int64(1) >= 3, let customer = CustomerID.of(statement.string(0)) { settled.insert(customer) }
        }
        return (count, settled)
    }
}
