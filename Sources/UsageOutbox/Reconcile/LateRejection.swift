/// An event the store holds as sent or dead, offered to reconcile as a
/// possible match for an audit trail entry.
public struct StoredEvent: Sendable, Equatable {
    public let rowID: Int64
    /// The outbox's id for it (its UUIDv7, also written into the event id
    /// field when the event lacked one).
    public let eventID: String
    /// The event's JSON text, as appended.
    public let body: String
    public let state: EventState

    public init(rowID: Int64, eventID: String, body: String, state: EventState) {
        self.rowID = rowID
        self.eventID = eventID
        self.body = body
        self.state = state
    }
}

/// A sent event Zuora rejected after accepting it: reconcile moves it to
/// `dead` with this reason, and the audit entry as its response body.
public struct LateRejection: Sendable, Equatable {
    public let rowID: Int64
    public let reason: String
    public let responseBody: String

    public init(rowID: Int64, reason: String, responseBody: String) {
        self.rowID = rowID
        self.reason = reason
        self.responseBody = responseBody
    }
}

/// An audit entry reconcile acted on (a late rejection applied, or its
/// event found dead already), remembered so it is never applied again.
public struct AppliedAuditEntry: Sendable, Equatable {
    public let traceID: String
    public let eventID: String

    public init(traceID: String, eventID: String) {
        self.traceID = traceID
        self.eventID = eventID
    }
}

/// What a reconcile query asks the store for: the sent or dead events of a
/// meter that may match the entries, by id or by customer (a prefilter for
/// matching on content).
public struct ReconcileQuery: Sendable, Equatable {
    public let meter: String
    /// Ids to look for, in the `event_id` column and in the event id field.
    public let eventIDs: [String]
    /// The event id field (`--event-id-field`), when there is one.
    public let eventIdField: String?
    /// `CustomerId`s of the entries' payloads.
    public let customers: [String]

    public init(meter: String, eventIDs: [String], eventIdField: String?, customers: [String]) {
        self.meter = meter
        self.eventIDs = eventIDs
        self.eventIdField = eventIdField
        self.customers = customers
    }
}
