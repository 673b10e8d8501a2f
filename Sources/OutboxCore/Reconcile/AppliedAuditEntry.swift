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
