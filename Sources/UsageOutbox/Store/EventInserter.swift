/// Appends validated events to `outbox_log` inside a write transaction,
/// and counts them for the meter's counters. An appended event is written
/// once: its delivery is tracked by ranges, not by rewriting its row.
///
/// Idempotent by id: an event that carries its own id in the event-id field
/// is skipped when the meter already holds that id (`own_id`'s unique
/// index), whether from an earlier append or earlier in the same input.
struct EventInserter {
    static let insertSQL = """
        INSERT INTO outbox_log (event_id, meter, body, created_at, own_id) VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (meter, own_id) WHERE own_id IS NOT NULL DO NOTHING
        """

    private let statement: SQLiteStatement
    private let now: Int64
    /// `{"<field>":"` when events get their id written into a field.
    private let idFieldPrefix: [UInt8]?
    private var scratch: [UInt8] = []
    private let ids: IDGenerator
    private let connection: SQLiteConnection
    /// The event-id field's name (UTF-8), when set.
    private let ownIDField: [UInt8]?
    /// Events inserted, and events skipped because their id was held.
    private(set) var count = 0
    private(set) var duplicates = 0

    init(connection: SQLiteConnection, meter: String, eventIdField: String?, ids: IDGenerator, now: Int64 = WallClock.nowMilliseconds()) throws {
        self.ids = ids
        self.connection = connection
        ownIDField = eventIdField.map { Array($0.utf8) }
        statement = try connection.cached(EventInserter.insertSQL)
        self.now = now
        idFieldPrefix = eventIdField.map(EventBody.fieldPrefix)
        // Bound once: the same for every row of this inserter.
        try statement.bind(meter, at: 2)
        try statement.bind(now, at: 4)
    }

    /// What one insert did.
    enum Outcome {
        case inserted(EventID)
        /// Not written: the meter already holds this own id.
        case duplicate(ownID: String)
    }

    /// Inserts one event.
    mutating func insert(_ body: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool) throws -> Outcome {
        try withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { idBytes in
            switch try insert(body, hasEventIdField: hasEventIdField, idBytes: idBytes) {
            case .inserted(let high, let low): .inserted(EventID(high: high, low: low))
            case .duplicate(let ownID): .duplicate(ownID: ownID)
            }
        }
    }

    /// What one insert did, with the new id as its bits.
    enum RawOutcome {
        case inserted(UInt64, UInt64)
        case duplicate(ownID: String)
    }

    /// Inserts one event, writing its id's 36 characters into `idBytes`
    /// (bulk appends use this to skip building a String per event).
    @discardableResult
    mutating func insert(_ body: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool, idBytes: UnsafeMutableRawBufferPointer) throws -> RawOutcome {
        let bits = ids.generator.next(millisecond: UInt64(max(0, now)), into: idBytes)
        try statement.bindTextNoCopy(UnsafeRawBufferPointer(idBytes), at: 1)
        // Only an id the event brought can repeat; one the outbox writes never does.
        let ownID = hasEventIdField ? ownIDField.flatMap { EventOwnID.value(in: body, field: $0) } : nil
        try statement.bind(ownID, at: 5)
        let statement = self.statement
        try EventBody.withStoredBytes(
            body, hasEventIdField: hasEventIdField, fieldPrefix: idFieldPrefix, idText: UnsafeRawBufferPointer(idBytes),
            scratch: &scratch
        ) { try EventInserter.step(statement, body: $0) }
        if let ownID, connection.changes == 0 {
            duplicates += 1
            return .duplicate(ownID: ownID)
        }
        count += 1
        return .inserted(bits.0, bits.1)
    }

    /// The id of the event `meter` holds under `ownID`.
    static func heldID(meter: String, ownID: String, on connection: SQLiteConnection) throws -> EventID? {
        let statement = try connection.cached("SELECT event_id FROM outbox_log WHERE meter = ?1 AND own_id = ?2")
        defer { statement.reset() }
        try statement.bind(meter, at: 1)
        try statement.bind(ownID, at: 2)
        return try statement.step() ? EventID(statement.string(0)) : nil
    }

    /// Binds the body without copying and steps while the bytes are valid.
    private static func step(_ statement: SQLiteStatement, body: UnsafeRawBufferPointer) throws {
        defer { statement.resetKeepingBindings() }
        try statement.bindBlobNoCopy(body, at: 3)
        try statement.step()
    }
}
