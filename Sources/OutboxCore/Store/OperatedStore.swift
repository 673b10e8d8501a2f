/// A store the dispatcher, reconcile and the CLI can drive: the public
/// `OutboxStore` with its package parts. Both stores are one.
package typealias OperatedStore = OutboxStore & DispatchStore & ReconcileStore

extension OutboxError {
    /// The store an app handed over, as one the dispatcher can drive; a
    /// clear error (not a crash) for an `OutboxStore` made outside this
    /// package, which has no dispatch part.
    package static func operated(_ store: any OutboxStore) throws -> any OperatedStore {
        guard let operated = store as? any OperatedStore else {
            throw OutboxError(
                .invalidConfiguration, "\(type(of: store)) cannot be dispatched or reconciled: only the outbox's own stores can be",
                hint: "open the outbox with Outbox(path:) or PostgresOutbox.open(url:), and hand that store itself over")
        }
        return operated
    }
}
