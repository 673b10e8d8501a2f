import CSQLite
import Foundation

/// The machine's limit: libsqlite3 driven directly through the same CSQLite
/// module, on a table shaped like the outbox's (same columns and due index),
/// with the same pragmas (WAL, synchronous=FULL). No validation, no
/// bookkeeping: what any outbox on SQLite could at best do.
enum RawSQLiteBaselines {
    static let schema = """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = FULL;
        CREATE TABLE events (
            id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, meter TEXT NOT NULL, body BLOB NOT NULL,
            state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
            lease_owner TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, sent_at INTEGER);
        CREATE INDEX events_due ON events (meter, next_attempt_at) WHERE state < 3;
        """

    static func open(_ path: String) -> OpaquePointer {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { fatalError("cannot open \(path)") }
        exec(db, schema)
        return db
    }

    static func exec(_ db: OpaquePointer, _ sql: String) {
        if sqlite3_exec(db, sql, nil, nil, nil) != SQLITE_OK {
            fatalError("sqlite: \(String(cString: sqlite3_errmsg(db))) in \(sql.prefix(80))")
        }
    }

    static func prepare(_ db: OpaquePointer, _ sql: String) -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            fatalError("sqlite: \(String(cString: sqlite3_errmsg(db)))")
        }
        return statement
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// Writes `value`'s low `digits` hex digits into `bytes`, ending at
    /// `last`: ids formatted into a reused buffer, so a baseline measures
    /// SQLite, not string formatting.
    static func writeHex(_ value: UInt64, into bytes: inout [UInt8], last: Int, digits: Int) {
        var value = value
        for position in stride(from: last, to: last - digits, by: -1) {
            bytes[position] = hexDigits[Int(value & 0xF)]
            value >>= 4
        }
    }

    /// A typical event body (~110 bytes), like the benchmark's NDJSON.
    static func body(_ index: Int) -> [UInt8] {
        Array(#"{"CustomerId":"C-\#(index % 5000)","UsageIdentifier":"api-calls","UsageDate":"2026-11-29T10:00:00Z","Quantity":\#(index % 97)}"#.utf8)
    }

    /// Rows per second inserting `count` rows, `perTransaction` per commit.
    static func insert(count: Int, perTransaction: Int, directory: String) -> Double {
        let db = open(directory + "/raw-insert-\(perTransaction).sqlite")
        defer { sqlite3_close(db) }
        let statement = prepare(db, "INSERT INTO events (event_id, meter, body, next_attempt_at, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4, ?4)")
        defer { sqlite3_finalize(statement) }
        let bodies = (0..<1000).map(body)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        // Ids are formatted by hand into a reused buffer: the baseline should
        // measure SQLite, not string formatting.
        var id = Array("01a22769-f354-7219-b142-000000000000".utf8)
        sqlite3_bind_text(statement, 2, "api-calls", -1, transient)
        sqlite3_bind_int64(statement, 4, now)
        let clock = Stopwatch()
        var index = 0
        while index < count {
            exec(db, "BEGIN IMMEDIATE")
            for _ in 0..<min(perTransaction, count - index) {
                writeHex(UInt64(index), into: &id, last: 35, digits: 12)
                id.withUnsafeBytes { _ = sqlite3_bind_text(statement, 1, $0.baseAddress, 36, transient) }
                bodies[index % 1000].withUnsafeBytes { _ = sqlite3_bind_blob(statement, 3, $0.baseAddress, Int32($0.count), transient) }
                guard sqlite3_step(statement) == SQLITE_DONE else { fatalError("insert failed") }
                sqlite3_reset(statement)
                index += 1
            }
            exec(db, "COMMIT")
        }
        return Double(count) / clock.seconds
    }

    /// Rows per second inserting `count` rows, 1000 per commit, into the
    /// same table with an own-id column and a partial unique index on
    /// (meter, own id), the ids in no order (a producer's UUIDs): the
    /// machine's limit for an idempotent append, whatever the outbox.
    static func insertWithOwnIDs(count: Int, directory: String) -> Double {
        let db = open(directory + "/raw-insert-own-ids.sqlite")
        defer { sqlite3_close(db) }
        // The outbox's page cache (16 MiB), which the index outgrows.
        exec(
            db,
            """
            PRAGMA cache_size = -16384;
            ALTER TABLE events ADD COLUMN own_id TEXT;
            CREATE UNIQUE INDEX events_own_id ON events (meter, own_id) WHERE own_id IS NOT NULL;
            """)
        let statement = prepare(
            db,
            """
            INSERT INTO events (event_id, meter, body, next_attempt_at, created_at, updated_at, own_id) VALUES (?1, ?2, ?3, ?4, ?4, ?4, ?5)
            ON CONFLICT (meter, own_id) WHERE own_id IS NOT NULL DO NOTHING
            """)
        defer { sqlite3_finalize(statement) }
        let bodies = (0..<1000).map(body)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        var id = Array("01a22769-f354-7219-b142-000000000000".utf8)
        var own = Array("evt-00000000".utf8)
        sqlite3_bind_text(statement, 2, "api-calls", -1, transient)
        sqlite3_bind_int64(statement, 4, now)
        let clock = Stopwatch()
        var index = 0
        while index < count {
            exec(db, "BEGIN IMMEDIATE")
            for _ in 0..<min(1000, count - index) {
                writeHex(UInt64(index), into: &id, last: 35, digits: 12)
                writeHex(UInt64(Workload.scrambled(index)), into: &own, last: 11, digits: 8)
                id.withUnsafeBytes { _ = sqlite3_bind_text(statement, 1, $0.baseAddress, 36, transient) }
                own.withUnsafeBytes { _ = sqlite3_bind_text(statement, 5, $0.baseAddress, Int32($0.count), transient) }
                bodies[index % 1000].withUnsafeBytes { _ = sqlite3_bind_blob(statement, 3, $0.baseAddress, Int32($0.count), transient) }
                guard sqlite3_step(statement) == SQLITE_DONE else { fatalError("insert failed") }
                sqlite3_reset(statement)
                index += 1
            }
            exec(db, "COMMIT")
        }
        return Double(count) / clock.seconds
    }

    /// Rows per second selecting 1000 due rows and marking them sent, one
    /// transaction per 1000, until `count` rows are done.
    static func selectAndMark(count: Int, directory: String) -> Double {
        let path = directory + "/raw-select-mark.sqlite"
        do {
            let db = open(path)
            sqlite3_close(db)
        }
        var db: OpaquePointer?
        sqlite3_open(path, &db)
        guard let db else { fatalError() }
        defer { sqlite3_close(db) }
        exec(db, "PRAGMA synchronous = FULL")
        // Fill without timing it.
        exec(db, "BEGIN")
        let fill = prepare(db, "INSERT INTO events (event_id, meter, body, next_attempt_at, created_at, updated_at) VALUES (?1, 'api-calls', ?2, ?3, ?3, ?3)")
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for index in 0..<count {
            sqlite3_bind_text(fill, 1, "id-\(index)", -1, transient)
            body(index).withUnsafeBytes { _ = sqlite3_bind_blob(fill, 2, $0.baseAddress, Int32($0.count), transient) }
            sqlite3_bind_int64(fill, 3, Int64(index))
            sqlite3_step(fill)
            sqlite3_reset(fill)
        }
        sqlite3_finalize(fill)
        exec(db, "COMMIT")
        let select = prepare(
            db, "SELECT id, body FROM events WHERE meter = 'api-calls' AND state < 3 AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT 1000")
        let mark = prepare(db, "UPDATE events SET state = 3, sent_at = ?1, updated_at = ?1 WHERE id = ?2")
        defer {
            sqlite3_finalize(select)
            sqlite3_finalize(mark)
        }
        let clock = Stopwatch()
        var done = 0
        var checksum = 0
        while done < count {
            exec(db, "BEGIN IMMEDIATE")
            sqlite3_bind_int64(select, 1, Int64.max)
            var ids: [Int64] = []
            while sqlite3_step(select) == SQLITE_ROW {
                ids.append(sqlite3_column_int64(select, 0))
                checksum &+= Int(sqlite3_column_bytes(select, 1))
            }
            sqlite3_reset(select)
            for id in ids {
                sqlite3_bind_int64(mark, 1, 1)
                sqlite3_bind_int64(mark, 2, id)
                sqlite3_step(mark)
                sqlite3_reset(mark)
            }
            exec(db, "COMMIT")
            if ids.isEmpty { break }
            done += ids.count
        }
        precondition(checksum > 0)
        return Double(done) / clock.seconds
    }
}

/// Wall-clock seconds since creation.
struct Stopwatch {
    private let start = ContinuousClock.now
    var seconds: Double {
        let (whole, fraction) = start.duration(to: .now).components
        return Double(whole) + Double(fraction) / 1e18
    }
}
