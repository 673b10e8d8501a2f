/// What may go into a header the dispatcher sends (entity and org ids,
/// owner names): printable ASCII, and no comma inside a list's item.
enum HeaderValue {
    static func isSafe(_ value: String) -> Bool {
        !value.isEmpty && value.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }
    }

    /// One item of a comma-separated header value.
    static func isSafeListItem(_ value: String) -> Bool {
        isSafe(value) && !value.contains(",")
    }

    /// `items` joined by commas; nil when there are none.
    static func list(_ items: [String]) -> String? {
        items.isEmpty ? nil : items.joined(separator: ",")
    }
}
