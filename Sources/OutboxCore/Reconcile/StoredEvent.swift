/// An event the store holds as sent or dead, offered to reconcile as a
/// possible match for an audit trail entry.
package struct StoredEvent: Sendable, Equatable {
    package let rowID: Int64
    /// The outbox's id for it (its UUIDv7, also written into the event id
    /// field when the event lacked one).
    package let eventID: String
    /// The event's JSON text, as appended.
    package let body: String
    package let state: EventState

    package init(rowID: Int64, eventID: String, body: String, state: EventState) {
        self.rowID = rowID
        self.eventID = eventID
        self.body = body
        self.state = state
    }
}
