/// Opens an outbox database file: checks what the file is, sets the
/// connection up (WAL, durability, busy timeout) and brings the schema up to
/// date.
enum DatabaseSetup {
    static let migrationsTable = "outbox_schema_migrations"

    static func open(_ configuration: OutboxConfiguration) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: configuration.path, busyTimeoutMilliseconds: Int32(clamping: configuration.busyTimeoutMilliseconds))
        // Reading the schema is the first read of the file: a file that is not
        // SQLite fails here with SQLITE_NOTADB, a damaged one with SQLITE_CORRUPT.
        let tables = try userTables(connection)
        let isEmpty = tables.isEmpty
        if isEmpty {
            // Must precede the first table: lets `purge` give space back to the
            // file system with `PRAGMA incremental_vacuum`.
            try connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        } else if !tables.contains(migrationsTable) && !configuration.allowForeignTables {
            let sample = tables.sorted().prefix(3).joined(separator: ", ")
            throw OutboxError(
                .notAnOutbox, "\(configuration.path) is an SQLite database of another application (it holds tables such as \(sample))",
                hint: "use an outbox file or a new path; an app that embeds the outbox in its own database opens it with allowForeignTables")
        }
        let mode = try connection.scalarString("PRAGMA journal_mode = WAL")
        if mode != "wal" && configuration.path != ":memory:" {
            throw OutboxError(
                .storage, "\(configuration.path) could not be switched to WAL mode (it reports \(mode ?? "nothing"))",
                hint: "WAL needs a local file system with shared memory; network file systems are not supported")
        }
        try connection.execute("PRAGMA synchronous = \(configuration.durability == .full ? "FULL" : "NORMAL")")
        try connection.execute("PRAGMA temp_store = MEMORY")
        // 16 MiB of page cache: the due index of a million-event backlog
        // stays in memory, so claims cost the same at 1k and 1M waiting.
        try connection.execute("PRAGMA cache_size = -16384")
        // Keep the WAL from staying huge after a large append is checkpointed.
        try connection.execute("PRAGMA journal_size_limit = 67108864")
        try migrate(connection, path: configuration.path)
        return connection
    }

    static func userTables(_ connection: SQLiteConnection) throws -> Set<String> {
        let statement = try connection.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        var names = Set<String>()
        while try statement.step() { names.insert(statement.string(0)) }
        return names
    }

    static func currentVersion(_ connection: SQLiteConnection) throws -> Int {
        let exists = try connection.scalarInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", .text(migrationsTable)) ?? 0
        guard exists > 0 else { return 0 }
        return Int(try connection.scalarInt("SELECT max(version) FROM \(migrationsTable)") ?? 0)
    }

    /// Applies the embedded migrations the file lacks, in one transaction.
    static func migrate(_ connection: SQLiteConnection, path: String, migrations: [Migration] = Migration.embedded) throws {
        let latest = migrations.last?.version ?? 0
        let found = try currentVersion(connection)
        if found > latest { throw schemaTooNew(found: found, known: latest, path: path) }
        if found == latest { return }
        try connection.writeTransaction {
            try connection.execute(
                """
                CREATE TABLE IF NOT EXISTS \(migrationsTable) (
                    version    INTEGER PRIMARY KEY,
                    name       TEXT    NOT NULL,
                    applied_at INTEGER NOT NULL
                )
                """)
            // Another process may have migrated since we looked.
            let current = try currentVersion(connection)
            if current > latest { throw schemaTooNew(found: current, known: latest, path: path) }
            for migration in migrations where migration.version > current {
                try connection.execute(migration.sql)
                try connection.execute(
                    "INSERT INTO \(migrationsTable) (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    .integer(Int64(migration.version)), .text(migration.name), .integer(WallClock.nowMilliseconds()))
            }
        }
    }

    static func schemaTooNew(found: Int, known: Int, path: String) -> OutboxError {
        OutboxError(
            .schemaTooNew, "\(path) has schema version \(found), newer than this outbox knows (\(known))",
            hint: "run a newer outbox binary against this file; an older one must not write to it")
    }
}

extension Migration {
    /// The newest SQLite schema version this binary knows.
    public static var latestVersion: Int { embedded.last?.version ?? 0 }
}
