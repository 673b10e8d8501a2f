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

    // MARK: Appending

    /// Appends one event. Returns its id once the event is durable.
    @discardableResult
    public func append(_ event: UsageEvent, meter: String) async throws -> EventID {
        try await append(contentsOf: [event], meter: meter)[0]
    }

    /// Appends events, all or none. Returns their ids once they are durable.
    @discardableResult
    public func append(contentsOf events: [UsageEvent], meter: String) async throws -> [EventID] {
        try MeterName.validate(meter)
        return try await insert(
            try EventValidation.prepare(events, eventIdField: configuration.eventIdField, maxEventBytes: configuration.maxEventBytes), meter: meter
        ).ids
    }

    /// Appends one event given as JSON text, validated against the contract
    /// and stored exactly as given.
    @discardableResult
    public func append(json: String, meter: String) async throws -> EventID {
        try await append(jsonEvents: [json], meter: meter)[0]
    }

    /// Appends events given as JSON texts (one object each), all or none.
    /// Invalid events throw `OutboxError` with code `.invalidInput`, listing
    /// each one's position (counting from 1) and reason.
    ///
    /// Idempotent by id: with `eventIdField` set, an event whose own id the
    /// meter already holds is not appended again; its place in the result
    /// holds the id of the event already there (`appendReporting` says
    /// which events those were).
    @discardableResult
    public func append(jsonEvents: [String], meter: String) async throws -> [EventID] {
        try await appendReporting(jsonEvents: jsonEvents, meter: meter).ids
    }

    /// Appends like `append(jsonEvents:meter:)`, and says which events were
    /// duplicates of an id the meter already holds.
    public func appendReporting(jsonEvents: [String], meter: String) async throws -> AppendResult {
        try MeterName.validate(meter)
        return try await insert(
            try EventValidation.prepare(jsonEvents, eventIdField: configuration.eventIdField, maxEventBytes: configuration.maxEventBytes), meter: meter)
    }

    /// Group-commits events validated off the database thread.
    private func insert(_ events: [PreparedEvent], meter: String) async throws -> AppendResult {
        let eventIdField = configuration.eventIdField
        // Validated already: only the database itself can fail it, so it
        // needs no savepoint of its own.
        return try await database.write(isolated: false, gathers: true) { context in
            try OutboxTransaction.insert(events, meter: meter, eventIdField: eventIdField, into: context)
        }
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
