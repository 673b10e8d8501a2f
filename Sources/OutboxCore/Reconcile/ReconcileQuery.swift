/// What a reconcile query asks the store for: the sent or dead events of a
/// meter that may match the entries, by id or by customer (a prefilter for
/// matching on content).
package struct ReconcileQuery: Sendable, Equatable {
    package let meter: String
    /// Ids to look for, in the `event_id` column and in the event id field.
    package let eventIDs: [String]
    /// The event id field, when there is one.
    package let eventIdField: String?
    /// `CustomerId`s of the entries' payloads.
    package let customers: [String]

    package init(meter: String, eventIDs: [String], eventIdField: String?, customers: [String]) {
        self.meter = meter
        self.eventIDs = eventIDs
        self.eventIdField = eventIdField
        self.customers = customers
    }
}
