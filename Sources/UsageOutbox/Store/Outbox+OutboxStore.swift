/// The SQLite outbox is an `OutboxStore`: every command and the dispatcher
/// work on it as on any store.
extension Outbox: OutboxStore {
    public var location: String { configuration.path }
}
