import CSQLite

/// An error reported by libsqlite3.
///
/// It carries SQLite's primary and extended result codes and SQLite's own
/// message, plus the SQL text that failed. Bound values never appear here: the
/// SQL text holds `?` placeholders only, so event data and secrets cannot leak
/// into logs through an error.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The primary result code (`SQLITE_BUSY`, `SQLITE_CORRUPT`, ...).
    public var resultCode: Int32 { extendedCode & 0xFF }
    /// The extended result code (`SQLITE_BUSY_SNAPSHOT`, `SQLITE_IOERR_FSYNC`, ...).
    public let extendedCode: Int32
    /// SQLite's message (`sqlite3_errmsg`), which names objects but not bound values.
    public let message: String
    /// The statement that failed, with placeholders, when there was one.
    public let sql: String?

    public init(extendedCode: Int32, message: String, sql: String? = nil) {
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    init(connection: OpaquePointer?, code: Int32, sql: String? = nil) {
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
        // sqlite3_extended_errcode reports the most recent failure on the handle,
        // which is this one unless `code` came from somewhere else (e.g. open).
        let chosen = (extended & 0xFF) == (code & 0xFF) ? extended : code
        let text =
            connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            ?? String(cString: sqlite3_errstr(code))
        self.init(extendedCode: chosen, message: text, sql: sql)
    }

    /// A short, fixed name for the primary code, fit for a metric label.
    public var codeName: String {
        switch resultCode {
        case SQLITE_BUSY: "SQLITE_BUSY"
        case SQLITE_LOCKED: "SQLITE_LOCKED"
        case SQLITE_CORRUPT: "SQLITE_CORRUPT"
        case SQLITE_NOTADB: "SQLITE_NOTADB"
        case SQLITE_FULL: "SQLITE_FULL"
        case SQLITE_IOERR: "SQLITE_IOERR"
        case SQLITE_READONLY: "SQLITE_READONLY"
        case SQLITE_CANTOPEN: "SQLITE_CANTOPEN"
        case SQLITE_PERM: "SQLITE_PERM"
        case SQLITE_CONSTRAINT: "SQLITE_CONSTRAINT"
        case SQLITE_NOMEM: "SQLITE_NOMEM"
        case SQLITE_INTERRUPT: "SQLITE_INTERRUPT"
        case SQLITE_ERROR: "SQLITE_ERROR"
        default: "SQLITE_\(resultCode)"
        }
    }

    public var isBusy: Bool { resultCode == SQLITE_BUSY || resultCode == SQLITE_LOCKED }
    public var isCorruption: Bool { resultCode == SQLITE_CORRUPT || resultCode == SQLITE_NOTADB }
    public var isDiskFull: Bool { resultCode == SQLITE_FULL }
    public var isNotADatabase: Bool { resultCode == SQLITE_NOTADB }
    public var isConstraintViolation: Bool { resultCode == SQLITE_CONSTRAINT }

    /// A failure of the database file or its storage, rather than of a statement.
    public var isDatabaseFailure: Bool {
        [
            SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_FULL, SQLITE_IOERR,
            SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_NOMEM, SQLITE_PROTOCOL,
        ].contains(resultCode)
    }

    public var description: String {
        var text = "\(codeName) (\(extendedCode)): \(message)"
        if let sql { text += " [while running: \(sql)]" }
        return text
    }
}
