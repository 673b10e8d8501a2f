import CSQLite

extension OutboxError {
    /// Translates SQLite's error into one a person can act on.
    public init(_ error: SQLiteError, path: String, busyTimeoutMilliseconds: Int = 5000) {
        let file = path
        switch error.resultCode {
        case SQLITE_BUSY, SQLITE_LOCKED:
            self.init(
                .locked, "the database \(file) stayed locked by another connection for longer than the busy timeout (\(busyTimeoutMilliseconds) ms)",
                hint: "retry later; if it persists, look for a process holding a long write transaction", underlying: error)
        case SQLITE_NOTADB:
            self.init(
                .corrupt, "\(file) is not an SQLite database (or is encrypted, or damaged beyond its header)",
                hint: "the path must name an outbox file, or a path for a new one", underlying: error)
        case SQLITE_CORRUPT:
            self.init(
                .corrupt, "the database \(file) is corrupt (\(error.codeName))",
                hint: "stop writers, keep a copy, then restore from a backup or salvage rows with `sqlite3 \(file) .recover`", underlying: error)
        case SQLITE_FULL:
            self.init(
                .diskFull, "the disk holding \(file) is full; the write was rolled back",
                hint: "free some space and run the command again", underlying: error)
        case SQLITE_READONLY:
            self.init(
                .readOnly, "cannot write \(file): the file or its directory is read-only (\(error.codeName))",
                hint: "check permissions; SQLite also needs to create \(file)-wal and \(file)-shm beside it", underlying: error)
        case SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_AUTH:
            self.init(
                .cannotOpen, "cannot open the database \(file): \(error.message)",
                hint: "check that the directory exists and is writable, or use another path", underlying: error)
        case SQLITE_IOERR:
            self.init(
                .storage, "I/O error on \(file) (\(error.codeName), extended code \(error.extendedCode)): \(error.message)",
                hint: "check the disk and file system; nothing from the failed write was committed", underlying: error)
        default:
            self.init(.storage, "database error on \(file): \(error.description)", underlying: error)
        }
    }
}
