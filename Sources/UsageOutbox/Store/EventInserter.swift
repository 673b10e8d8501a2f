/// Inserts validated events into `outbox_events` inside a write transaction,
/// and counts them for the meter's counters.
struct EventInserter {
    static let insertSQL = """
        INSERT INTO outbox_events (event_id, meter, body, state, attempts, next_attempt_at, created_at, updated_at)
        VALUES (?1, ?2, ?3, 0, 0, ?4, ?4, ?4)
        """

    private let statement: SQLiteStatement
    private let meter: String
    private let now: Int64
    /// `{"<field>":"` when events get their id written into a field.
    private let idFieldPrefix: [UInt8]?
    private var scratch: [UInt8] = []
    private var generator = UUIDv7Generator()
    private(set) var count = 0

    init(connection: SQLiteConnection, meter: String, eventIdField: String?, now: Int64 = WallClock.nowMilliseconds()) throws {
        statement = try connection.cached(EventInserter.insertSQL)
        self.meter = meter
        self.now = now
        idFieldPrefix = eventIdField.map { Array("{\"\($0)\":\"".utf8) }
    }

    /// Inserts one event; returns its id.
    @discardableResult
    mutating func insert(_ body: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool) throws -> EventID {
        try withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { idBytes in
            try insert(body, hasEventIdField: hasEventIdField, idBytes: idBytes)
            return EventID(String(decoding: UnsafeRawBufferPointer(idBytes), as: UTF8.self))
        }
    }

    /// Inserts one event, writing its id's 36 characters into `idBytes`
    /// (bulk appends use this to skip building a String per event).
    mutating func insert(_ body: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool, idBytes: UnsafeMutableRawBufferPointer) throws {
        generator.next(millisecond: UInt64(max(0, now)), into: idBytes)
        try statement.bindTextNoCopy(UnsafeRawBufferPointer(idBytes), at: 1)
        try statement.bind(meter, at: 2)
        try statement.bind(now, at: 4)
        if let idFieldPrefix, !hasEventIdField {
            // {"field":"<id>", then the event without its opening brace.
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: idFieldPrefix)
            scratch.append(contentsOf: UnsafeRawBufferPointer(idBytes))
            scratch.append(contentsOf: "\",".utf8)
            scratch.append(contentsOf: body.dropFirst())
            try scratch.withUnsafeBytes { try step(body: $0) }
        } else {
            try step(body: UnsafeRawBufferPointer(body))
        }
        count += 1
    }

    /// Binds the body without copying and steps while the bytes are valid.
    private func step(body: UnsafeRawBufferPointer) throws {
        defer { statement.reset() }
        try statement.bindBlobNoCopy(body, at: 3)
        try statement.step()
    }
}

/// An event's stable id: a UUIDv7 in its 36-character text form.
public struct EventID: Hashable, Sendable, CustomStringConvertible, Codable {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { value }
    static let empty = EventID("")
}

/// Meter ids go into the request path, so they are held to a safe alphabet.
public enum MeterName {
    public static func validate(_ meter: String) throws {
        let allowed = meter.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                 UInt8(ascii: "."), UInt8(ascii: "~"), UInt8(ascii: ":"):
                true
            default: false
            }
        }
        guard !meter.isEmpty, meter.utf8.count <= 255, allowed else {
            throw OutboxError(.invalidInput, "invalid meter \"\(meter.prefix(80))\": a meter id is 1 to 255 letters, digits, '-', '_', '.', '~' or ':'",
                              hint: "pass the meter's global id from Zuora, e.g. --meter api-calls")
        }
    }
}
