import CSQLite

/// SQLITE_TRANSIENT tells SQLite to copy a bound buffer; SQLITE_STATIC says the
/// buffer outlives the step. Swift cannot import the macros, so we build them.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
let sqliteStatic = unsafeBitCast(0, to: sqlite3_destructor_type.self)

/// A prepared statement owned by a `SQLiteConnection`'s cache.
///
/// Not thread safe: use it only on the connection's thread, and `reset()` it
/// (the cache does this) before handing it out again.
public final class SQLiteStatement {
    let handle: OpaquePointer
    unowned let connection: SQLiteConnection
    public let sql: String

    init(handle: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.handle = handle
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Resets for another step, keeping the bound values (a loop that binds
    /// only what changes per row).
    public func resetKeepingBindings() {
        sqlite3_reset(handle)
    }

    // MARK: Binding (1-based indexes, as in SQLite)

    public func bind(_ value: Int64, at index: Int32) throws {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    public func bind(_ value: Int, at index: Int32) throws {
        try bind(Int64(value), at: index)
    }

    public func bind(_ value: Double, at index: Int32) throws {
        try check(sqlite3_bind_double(handle, index, value))
    }

    public func bind(_ value: String, at index: Int32) throws {
        try check(sqlite3_bind_text(handle, index, value, -1, sqliteTransient))
    }

    public func bindNull(at index: Int32) throws {
        try check(sqlite3_bind_null(handle, index))
    }

    public func bind(_ value: String?, at index: Int32) throws {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    public func bind(_ value: Int64?, at index: Int32) throws {
        if let value { try bind(value, at: index) } else { try bindNull(at: index) }
    }

    /// Binds bytes as a BLOB, copied by SQLite.
    public func bindBlob(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws {
        try check(sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), sqliteTransient))
    }

    /// Binds bytes as a BLOB without copying: the caller guarantees the memory
    /// stays valid until the statement has been stepped and reset.
    public func bindBlobNoCopy(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws {
        try check(sqlite3_bind_blob(handle, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), sqliteStatic))
    }

    /// Binds UTF-8 bytes as TEXT without copying (same lifetime rule as `bindBlobNoCopy`).
    public func bindTextNoCopy(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws {
        try check(sqlite3_bind_text(handle, index, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count), sqliteStatic))
    }

    // MARK: Stepping

    /// Steps once; returns true when a row is available.
    @discardableResult
    public func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(connection: connection.handle, code: code, sql: sql)
        }
    }

    /// Runs to completion, ignoring any rows.
    public func run() throws {
        while try step() {}
    }

    // MARK: Reading the current row (0-based columns)

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    public func optionalInt64(_ column: Int32) -> Int64? {
        isNull(column) ? nil : int64(column)
    }

    public func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    public func optionalString(_ column: Int32) -> String? {
        isNull(column) ? nil : string(column)
    }

    /// Calls `body` with the column's bytes, valid only during the call.
    public func withBytes<R>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        return try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    public func bytes(_ column: Int32) -> [UInt8] {
        withBytes(column) { Array($0) }
    }

    private func check(_ code: Int32) throws {
        if code != SQLITE_OK { throw SQLiteError(connection: connection.handle, code: code, sql: sql) }
    }
}
