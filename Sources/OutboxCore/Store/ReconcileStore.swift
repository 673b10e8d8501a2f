/// What reconcile needs from a store: the events that may match entries of
/// Zuora's audit trail, and one transaction that moves late rejections to
/// dead and remembers the entries. Both stores conform; it is `package`, as
/// `DispatchStore` is.
package protocol ReconcileStore: Sendable {
    /// The sent or dead events of a meter that may match audit entries.
    func reconcileCandidates(_ query: ReconcileQuery) async throws -> [StoredEvent]
    /// Which of these trace ids reconcile has acted on already.
    func appliedAuditEntries(meter: String, traceIDs: [String]) async throws -> Set<String>
    /// Moves each rejected event from sent to dead (only while it is still
    /// sent), keeps the counters, and remembers the entries; one
    /// transaction. Returns the events moved.
    func applyLateRejections(_ rejections: [LateRejection], meter: String, remember entries: [AppliedAuditEntry]) async throws -> Int
}
