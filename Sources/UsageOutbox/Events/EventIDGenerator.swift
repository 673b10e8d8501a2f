import Synchronization

/// UUIDv7 event ids for stores other than the SQLite one (the PostgreSQL
/// store). Thread safe.
public final class EventIDGenerator: Sendable {
    private let generator = Mutex(UUIDv7Generator())

    public init() {}

    public func next(at unixMilliseconds: Int64 = WallClock.nowMilliseconds()) -> EventID {
        generator.withLock { generator in
            withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { buffer in
                let bits = generator.next(millisecond: UInt64(max(0, unixMilliseconds)), into: buffer)
                return EventID(high: bits.0, low: bits.1)
            }
        }
    }
}

/// The text a store keeps for an event.
public enum EventBody {
    /// The event's text as given; or, when `eventIdField` is set and the
    /// event lacks it, the text with `"<field>":"<id>",` after its opening brace.
    public static func stored(_ event: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool, eventIdField: String?, id: EventID) -> String {
        guard let eventIdField, !hasEventIdField else { return String(decoding: event, as: UTF8.self) }
        var text = "{\"" + eventIdField + "\":\"" + id.value + "\","
        text += String(decoding: event.dropFirst(), as: UTF8.self)
        return text
    }
}

/// Validation for stores other than the SQLite one.
public enum EventValidation {
    /// Validates events given as JSON texts, all or none; throws
    /// `OutboxError` (`.invalidInput`) listing every invalid one.
    public static func prepare(_ jsonEvents: [String], eventIdField: String?) throws -> [PreparedEvent] {
        try Outbox.prepare(jsonEvents, eventIdField: eventIdField)
    }
}

extension PreparedEvent {
    /// Calls `body` with the event object's bytes.
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        var text = text
        return try text.withUTF8 { try body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    public var hasIdField: Bool { hasEventIdField }
}
