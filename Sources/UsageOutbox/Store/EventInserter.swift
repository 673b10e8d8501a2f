/// Inserts validated events into `outbox_events` inside a write transaction,
/// and counts them for the meter's counters.
struct EventInserter {
    static let insertSQL = """
        INSERT INTO outbox_events (event_id, meter, body, state, attempts, next_attempt_at, created_at, updated_at)
        VALUES (?1, ?2, ?3, 0, 0, ?4, ?4, ?4)
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
        idFieldPrefix = eventIdField.map { Array("{\"\($0)\":\"".utf8) }
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
        return bits
    }

    /// Binds the body without copying and steps while the bytes are valid.
    private func step(body: UnsafeRawBufferPointer) throws {
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

/// An event's stable id: a UUIDv7. Its text form (36 characters) is what
/// the database, the CLI and the event id field hold; the 128 bits are kept
/// so that returning ids costs no allocation per event.
public struct EventID: Hashable, Sendable, CustomStringConvertible, Codable {
    let high: UInt64
    let low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses the text form; nil when it is not a UUID.
    public init?(_ text: String) {
        let hex = text.filter { $0 != "-" }
        guard text.utf8.count == 36, hex.count == 32, let high = UInt64(hex.prefix(16), radix: 16), let low = UInt64(hex.suffix(16), radix: 16) else { return nil }
        self.init(high: high, low: low)
    }

    /// The 36-character text form.
    public var value: String {
        withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { buffer in
            UUIDv7Generator.format(high, low, into: buffer)
            return String(decoding: UnsafeRawBufferPointer(buffer), as: UTF8.self)
        }
    }

    public var description: String { value }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = EventID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a UUID: \(text)"))
        }
        self = id
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
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
