/// Appends validated events to `outbox_log` inside a write transaction,
/// and counts them for the meter's counters. An appended event is written
/// once: its delivery is tracked by ranges, not by rewriting its row.
struct EventInserter {
    static let insertSQL = """
        INSERT INTO outbox_log (event_id, meter, body, created_at) VALUES (?1, ?2, ?3, ?4)
        """

    private let statement: SQLiteStatement
    private let now: Int64
    /// `{"<field>":"` when events get their id written into a field.
    private let idFieldPrefix: [UInt8]?
    private var scratch: [UInt8] = []
    private let ids: IDGenerator
    private(set) var count = 0

    init(connection: SQLiteConnection, meter: String, eventIdField: String?, ids: IDGenerator, now: Int64 = WallClock.nowMilliseconds()) throws {
        self.ids = ids
        statement = try connection.cached(EventInserter.insertSQL)
        self.now = now
        idFieldPrefix = eventIdField.map(EventBody.fieldPrefix)
        // Bound once: the same for every row of this inserter.
        try statement.bind(meter, at: 2)
        try statement.bind(now, at: 4)
    }

    /// Inserts one event; returns its id.
    @discardableResult
    mutating func insert(_ body: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool) throws -> EventID {
        try withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { idBytes in
            let bits = try insert(body, hasEventIdField: hasEventIdField, idBytes: idBytes)
            return EventID(high: bits.0, low: bits.1)
        }
    }

    /// Inserts one event, writing its id's 36 characters into `idBytes`
    /// (bulk appends use this to skip building a String per event).
    @discardableResult
    mutating func insert(_ body: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool, idBytes: UnsafeMutableRawBufferPointer) throws -> (UInt64, UInt64) {
        let bits = ids.generator.next(millisecond: UInt64(max(0, now)), into: idBytes)
        try statement.bindTextNoCopy(UnsafeRawBufferPointer(idBytes), at: 1)
        let statement = self.statement
        try EventBody.withStoredBytes(
            body, hasEventIdField: hasEventIdField, fieldPrefix: idFieldPrefix, idText: UnsafeRawBufferPointer(idBytes),
            scratch: &scratch
        ) { try EventInserter.step(statement, body: $0) }
        count += 1
        return bits
    }

    /// Binds the body without copying and steps while the bytes are valid.
    private static func step(_ statement: SQLiteStatement, body: UnsafeRawBufferPointer) throws {
        defer { statement.resetKeepingBindings() }
        try statement.bindBlobNoCopy(body, at: 3)
        try statement.step()
    }
}

/// The id generator of one database connection: seeded from the system's
/// random source once per millisecond, not once per append. Used only on the
/// connection's queue.
final class IDGenerator: @unchecked Sendable {
    var generator = UUIDv7Generator()
}
