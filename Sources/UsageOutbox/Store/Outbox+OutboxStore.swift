/// The SQLite outbox is an `OutboxStore`: every command and the dispatcher
/// work on it as on any store. Its dispatch and reconcile parts are package
/// protocols, out of the public API.
extension Outbox: OutboxStore, ReconcileStore {
    public var location: String { configuration.path }
}
