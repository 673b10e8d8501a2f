/// A durable outbox of usage events in an SQLite file.
///
/// Open one per database file and share it across the app. Appends return
/// once the events are committed and synced (with the default durability),
/// and appends from many tasks at once share one transaction and one sync.
///
/// ```swift
/// let outbox = try Outbox(path: "/var/lib/myapp/outbox.sqlite")
/// try await outbox.append(
///     UsageEvent(customerId: "A-1001", usageIdentifier: "api-calls",
///                usageDate: "2026-11-29T10:00:00Z", quantity: 1),
///     meter: "api-calls")
/// ```
///
/// To commit a business change and its usage events together, see
/// `write(_:)`.
public final class Outbox: Sendable {
    public let configuration: OutboxConfiguration
    let database: DatabaseQueue
    private let appendSignal: AppendSignal

    /// Opens (creating and migrating as needed) the outbox at `configuration.path`.
    /// Throws `OutboxError` when the file is not an outbox, is corrupt, is
    /// locked, or has a newer schema than this library knows.
    public init(_ configuration: OutboxConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        let connection: SQLiteConnection
        do {
            connection = try DatabaseSetup.open(configuration)
        } catch let error as SQLiteError {
            throw OutboxError(error, path: configuration.path, busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds)
        }
        let signal = AppendSignal()
        appendSignal = signal
        database = DatabaseQueue(connection: connection, busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds) { _ in
            signal.notify()
        }
    }

    func notifyAppended() {
        appendSignal.notify()
    }

    public convenience init(path: String) throws {
        try self.init(OutboxConfiguration(path: path))
    }

    /// Closes the database connection; later calls throw `.closed`.
    public func close() {
        database.close()
        appendSignal.finishAll()
    }

    /// Runs `body` in a write transaction on the outbox's database and commits
    /// it, with everything `body` did, when it returns; if it throws, all of
    /// it is rolled back. This is the transactional outbox: write your own
    /// tables and append the usage events they cause, atomically.
    ///
    /// ```swift
    /// try await outbox.write { tx in
    ///     try tx.execute("INSERT INTO orders (id, customer) VALUES (?1, ?2)", .text(id), .text(customer))
    ///     try tx.append(UsageEvent(...), meter: "orders")
    /// }
    /// ```
    /// `body` runs on the outbox's database thread; keep it short and never
    /// block in it on other work. Open the outbox with `allowForeignTables`
    /// when the file also holds your tables.
    public func write<T: Sendable>(_ body: @escaping @Sendable (OutboxTransaction) throws -> T) async throws -> T {
        let (eventIdField, maxEventBytes) = (configuration.eventIdField, configuration.maxEventBytes)
        return try await database.write(gathers: true) { context in
            try body(OutboxTransaction(context: context, eventIdField: eventIdField, maxEventBytes: maxEventBytes))
        }
    }

    /// How group commit is doing: writes committed, and the transactions
    /// (syncs) they took.
    public var writeStatistics: (writes: Int, transactions: Int) {
        let statistics = database.statistics
        return (statistics.unitsCommitted, statistics.transactions)
    }

    /// A stream that yields after each commit that appended events, for a
    /// dispatcher running in the same process to start at once instead of
    /// waiting for its next poll.
    public func appendNotifications() -> AsyncStream<Void> {
        appendSignal.stream()
    }
}
