/// Which names may be an event-id field: a plain name (it is spliced into
/// stored bodies) and not one of the four required fields (an id field of
/// `CustomerId` would make every event of a customer a duplicate of the
/// first, and idempotent appends would drop them).
package enum EventIDFieldName {
    package static func validate(_ field: String) throws {
        let isPlain =
            !field.isEmpty && field.utf8.count <= 128
            && field.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0 != "\"" && $0 != "\\" && $0.value != 0x7F }
        if !isPlain {
            throw OutboxError(.invalidConfiguration, "the event id field name must be 1 to 128 printable characters without quotes or backslashes")
        }
        if ["CustomerId", "UsageIdentifier", "UsageDate", "Quantity"].contains(field) {
            throw OutboxError(
                .invalidConfiguration, "the event id field cannot be \(field), a required field of every event",
                hint: "name the field that holds each event's own id, such as EventId")
        }
    }
}
