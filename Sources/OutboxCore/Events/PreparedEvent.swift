extension PreparedEvent {
    /// Calls `body` with the event object's bytes.
    package func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        var text = text
        return try text.withUTF8 { try body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    package var hasIdField: Bool { hasEventIdField }
}

/// An event validated by `EventValidation.prepare`: its text, and where its object lies in it.
package struct PreparedEvent: Sendable {
    package var text: String
    package let range: Range<Int>
    package let hasEventIdField: Bool

    package init(text: String, range: Range<Int>, hasEventIdField: Bool) {
        self.text = text
        self.range = range
        self.hasEventIdField = hasEventIdField
    }
}
