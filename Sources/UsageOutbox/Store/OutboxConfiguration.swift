/// How an outbox database is opened.
public struct OutboxConfiguration: Sendable {
    /// How hard each commit pushes to stable storage.
    public enum Durability: String, Sendable, CaseIterable {
        /// `synchronous=FULL`: every commit is synced before it returns, so an
        /// append that returned survives a power cut. The default.
        case full
        /// `synchronous=NORMAL`: commits are synced at checkpoints only. A
        /// crash of the process loses nothing, but a power cut or kernel panic
        /// can lose the last commits before a checkpoint: appends that had
        /// returned. Several times faster for single appends.
        case normal
    }

    /// The database file; created with mode 0600 when missing.
    public var path: String
    public var durability: Durability
    /// How long a write waits for another connection's lock before failing.
    public var busyTimeout: Duration
    /// When set, each appended event that lacks this field gets it, holding
    /// the event's id (a UUIDv7), so Mediation can de-duplicate on it.
    public var eventIdField: String?
    /// Allow opening a file that already holds other tables (the app's own),
    /// adding the outbox tables beside them: the transactional outbox. When
    /// false such a file is refused as "not an outbox", so a mistyped path
    /// cannot write into another application's database.
    public var allowForeignTables: Bool
    /// The largest event accepted, in bytes as stored: an event must fit a
    /// request on its own (`EventSizeLimit`: the dispatcher's
    /// `maxBatchBytes` less 2; by default 1 MiB less 2, at most 4 MiB less 2).
    /// A larger one is refused at append as invalid input.
    public var maxEventBytes: Int = EventSizeLimit.default
    /// Where stored times come from (due times, leases). Tests pass a clock
    /// they advance by hand; everything else keeps the system clock.
    public var clock: any OutboxClock
    /// Known defects a test switched back on (`StoreModelTests`); always
    /// empty outside the package's own tests.
    package var injectedDefects: Set<InjectedDefect> = []

    public init(
        path: String,
        durability: Durability = .full,
        busyTimeout: Duration = .seconds(5),
        eventIdField: String? = nil,
        allowForeignTables: Bool = false,
        clock: any OutboxClock = SystemClock()
    ) {
        self.path = path
        self.durability = durability
        self.busyTimeout = busyTimeout
        self.eventIdField = eventIdField
        self.allowForeignTables = allowForeignTables
        self.clock = clock
    }

    func validate() throws {
        if path.isEmpty {
            throw OutboxError(.invalidConfiguration, "the database path is empty", hint: "give the path of an outbox file, or of a new one")
        }
        if !(1...EventSizeLimit.ceiling).contains(maxEventBytes) {
            throw OutboxError(.invalidConfiguration, "the largest event must be between 1 and \(EventSizeLimit.ceiling) bytes (Zuora's 4 MiB request, less 2)")
        }
        if busyTimeout < .zero {
            throw OutboxError(.invalidConfiguration, "the busy timeout must not be negative")
        }
        if let field = eventIdField { try EventIDFieldName.validate(field) }
    }

    /// `busyTimeout` in whole milliseconds, as SQLite takes it (at most
    /// `Int32.max`, about 24 days).
    var busyTimeoutMilliseconds: Int {
        let (seconds, attoseconds) = max(busyTimeout, .zero).components
        guard seconds < Int64(Int32.max) / 1000 else { return Int(Int32.max) }
        return Int(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
