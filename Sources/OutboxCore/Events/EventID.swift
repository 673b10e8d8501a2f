/// An event's stable id: a UUIDv7. Its text form (36 characters) is what
/// the database, the CLI and the event id field hold; the 128 bits are kept
/// so that returning ids costs no allocation per event.
public struct EventID: Hashable, Sendable, CustomStringConvertible, Codable {
    package let high: UInt64
    package let low: UInt64

    package init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses the text form; nil when it is not a UUID.
    public init?(_ text: String) {
        let hex = text.filter { $0 != "-" }
        guard text.utf8.count == 36, hex.count == 32, let high = UInt64(hex.prefix(16), radix: 16), let low = UInt64(hex.suffix(16), radix: 16) else {
            return nil
        }
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
