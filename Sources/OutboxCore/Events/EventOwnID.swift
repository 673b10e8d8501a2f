/// The id an event carries itself, in its event-id field: what makes an
/// append idempotent (an id the outbox already holds for the meter is not
/// appended again). Pure: reads one validated event object's bytes.
package enum EventOwnID {
    /// The longest own id kept; a longer value is not an id to de-duplicate on.
    package static let maxBytes = 512

    /// The value of the top-level key `field` in `event` (an object already
    /// validated): a string's decoded text, or a number's text as written.
    /// Nil when the key is absent, its value is another kind (`null`, an
    /// object...), empty, longer than `maxBytes`, or holding a NUL.
    package static func value(in event: UnsafeBufferPointer<UInt8>, field: [UInt8]) -> String? {
        var scanner = JSONScanner(event)
        scanner.skipWhitespace()
        guard scanner.current == UInt8(ascii: "{") else { return nil }
        scanner.index += 1
        do {
            while true {
                scanner.skipWhitespace()
                guard scanner.current == UInt8(ascii: "\"") else { return nil }
                let (keyRange, keyHasEscapes) = try scanner.scanString()
                let isField =
                    keyHasEscapes
                    ? JSONStringDecoding.decode(UnsafeBufferPointer(rebasing: event[keyRange])) == field
                    : field.withUnsafeBufferPointer { ByteCompare.equal(UnsafeBufferPointer(rebasing: event[keyRange]), $0) }
                scanner.skipWhitespace()
                try scanner.expect(UInt8(ascii: ":"), "':'")
                scanner.skipWhitespace()
                if isField { return try ownValue(&scanner) }
                _ = try scanner.skipValue(depth: 1)
                scanner.skipWhitespace()
                guard scanner.current == UInt8(ascii: ",") else { return nil }
                scanner.index += 1
            }
        } catch {
            return nil
        }
    }

    /// Convenience for stores that hold a `String`.
    package static func value(in event: String, field: String) -> String? {
        var event = event
        let fieldBytes = Array(field.utf8)
        return event.withUTF8 { value(in: $0, field: fieldBytes) }
    }

    private static func ownValue(_ scanner: inout JSONScanner) throws(JSONSyntaxError) -> String? {
        let bytes = scanner.bytes
        let text: String
        if scanner.current == UInt8(ascii: "\"") {
            let (range, hasEscapes) = try scanner.scanString()
            let raw = UnsafeBufferPointer(rebasing: bytes[range])
            text = hasEscapes ? String(decoding: JSONStringDecoding.decode(raw), as: UTF8.self) : String(decoding: raw, as: UTF8.self)
        } else if let byte = scanner.current, byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            text = String(decoding: UnsafeBufferPointer(rebasing: bytes[try scanner.scanNumber()]), as: UTF8.self)
        } else {
            return nil
        }
        // A NUL cannot be stored as text by every store (PostgreSQL refuses
        // it, C strings end at it): such a value is not an id to de-duplicate on.
        guard !text.isEmpty, text.utf8.count <= maxBytes, !text.utf8.contains(0) else { return nil }
        return text
    }
}
