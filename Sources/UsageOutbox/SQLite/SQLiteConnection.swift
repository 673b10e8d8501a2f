import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One connection to an SQLite database file, with a persistent cache of
/// prepared statements keyed by their SQL text.
///
/// A connection is confined to one thread at a time (it is opened with
/// `SQLITE_OPEN_NOMUTEX`); `DatabaseQueue` provides that confinement.
public final class SQLiteConnection {
    let handle: OpaquePointer
    public let path: String
    private var statementCache: [String: SQLiteStatement] = [:]

    /// Opens (creating when needed) the file at `path`.
    ///
    /// A new file is created with mode 0600 before SQLite touches it: SQLite
    /// gives the `-wal` and `-shm` files the database file's mode, so all three
    /// stay private to the owner.
    /// A symbolic link at `path` is refused, never followed: whoever can
    /// place one could otherwise have the outbox created, readable, wherever
    /// the link points.
    public init(path: String, readOnly: Bool = false, busyTimeoutMilliseconds: Int32 = 5000) throws {
        self.path = path
        if path != ":memory:" && !path.isEmpty {
            try SQLiteConnection.refuseSymbolicLink(path)
            if !readOnly { try SQLiteConnection.createPrivateFileIfMissing(path) }
        }
        var db: OpaquePointer?
        let flags =
            (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let error = SQLiteError(connection: db, code: code)
            sqlite3_close_v2(db)
            throw error
        }
        self.handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
    }

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// The raw `sqlite3*`, for apps that run their own SQL inside an outbox transaction.
    public var rawHandle: OpaquePointer { handle }

    /// The database and the files SQLite keeps beside it (`SQLITE_OPEN_NOFOLLOW`
    /// covers the database only).
    static func refuseSymbolicLink(_ path: String) throws {
        for file in [path, path + "-wal", path + "-shm", path + "-journal"] {
            var info = stat()
            guard lstat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else { continue }
            throw SQLiteError(
                extendedCode: SQLITE_CANTOPEN,
                message: "\(file) is a symbolic link; the outbox opens only real files (give the link's target instead)")
        }
    }

    static func createPrivateFileIfMissing(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd >= 0 {
            close(fd)
            return
        }
        let error = errno
        if error == EEXIST { return }
        throw SQLiteError(
            extendedCode: SQLITE_CANTOPEN,
            message: "cannot create \(path): \(String(cString: strerror(error)))"
        )
    }

    // MARK: Statements

    /// Returns the cached prepared statement for `sql`, reset and unbound.
    public func cached(_ sql: String) throws -> SQLiteStatement {
        if let statement = statementCache[sql] {
            statement.reset()
            return statement
        }
        let statement = try prepare(sql)
        statementCache[sql] = statement
        return statement
    }

    /// Prepares a statement that is not cached (for one-off SQL).
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else {
            throw SQLiteError(connection: handle, code: code, sql: sql)
        }
        return SQLiteStatement(handle: statement, connection: self, sql: sql)
    }

    /// Runs one or more statements that take no parameters.
    public func execute(_ sql: String) throws {
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        if code != SQLITE_OK { throw SQLiteError(connection: handle, code: code, sql: sql) }
    }

    /// Runs one parameterless statement through the statement cache (for
    /// the transaction statements a busy writer runs thousands of times).
    public func executeCached(_ sql: String) throws {
        let statement = try cached(sql)
        defer { statement.resetKeepingBindings() }
        try statement.run()
    }

    /// Runs a statement with positional parameters (cached).
    public func execute(_ sql: String, _ arguments: SQLiteValue...) throws {
        let statement = try cached(sql)
        try statement.bind(arguments)
        try statement.run()
    }

    /// Returns the first column of the first row, or nil when there is none.
    public func scalarInt(_ sql: String, _ arguments: SQLiteValue...) throws -> Int64? {
        let statement = try cached(sql)
        try statement.bind(arguments)
        defer { statement.reset() }
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.int64(0)
    }

    public func scalarString(_ sql: String, _ arguments: SQLiteValue...) throws -> String? {
        let statement = try cached(sql)
        try statement.bind(arguments)
        defer { statement.reset() }
        guard try statement.step(), !statement.isNull(0) else { return nil }
        return statement.string(0)
    }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes64(handle)) }
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    // MARK: Transactions

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction: the write lock is taken
    /// up front, so a write never fails half-way with SQLITE_BUSY on upgrade.
    public func writeTransaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }
}

extension SQLiteStatement {
    /// Binds values to parameters 1...n in order.
    public func bind(_ values: [SQLiteValue]) throws {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let int): try bind(int, at: index)
            case .real(let double): try bind(double, at: index)
            case .text(let text): try bind(text, at: index)
            case .blob(let bytes): try bytes.withUnsafeBytes { try bindBlob($0, at: index) }
            case .null: try bindNull(at: index)
            }
        }
    }
}
