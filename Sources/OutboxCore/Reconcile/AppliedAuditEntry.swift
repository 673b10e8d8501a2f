/// An audit entry reconcile acted on (a late rejection applied, or its
/// event found dead already), remembered so it is never applied again.
package struct AppliedAuditEntry: Sendable, Equatable {
    package let traceID: String
    package let eventID: String

    package init(traceID: String, eventID: String) {
        self.traceID = traceID
        self.eventID = eventID
    }
}
