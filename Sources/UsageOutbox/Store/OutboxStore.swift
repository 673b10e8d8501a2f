/// Everything the CLI and an app need from an outbox, whatever holds it:
/// the SQLite `Outbox` (the embedded default, one per app host), or the
/// PostgreSQL store in the `OutboxPostgres` module (many hosts, one queue).
/// The dispatcher's part is `DispatchStore`.
public protocol OutboxStore: DispatchStore {
    /// Where the events live, for messages: a path, or a URL without its password.
    var location: String { get }

    /// Appends events given as JSON texts, all or none; durable on return.
    func append(jsonEvents: [String], meter: String) async throws -> [EventID]

    /// Appends every event of an input (object, array or NDJSON) in one
    /// transaction, all or none.
    func appendStream(fileDescriptor: Int32, meter: String, progress: (@Sendable (_ bytesRead: Int, _ events: Int) -> Void)?) async throws -> Int

    func status(now: Int64) async throws -> OutboxStatus

    func deadLetters(meter: String?, deadBefore: Int64?, limit: Int) async throws -> [DeadLetter]
    func deadLetter(id: String) async throws -> DeadLetter?
    func retryDeadLetters(_ selection: DeadLetterSelection) async throws -> Int
    func purgeDeadLetters(_ selection: DeadLetterSelection) async throws -> Int

    /// Deletes events sent before `sentBefore` (unix ms) and gives the space back.
    func purgeSent(before sentBefore: Int64) async throws -> PurgeResult

    /// Conservation per meter, and the store's own integrity check.
    func verify() async throws -> VerifyReport

    /// Yields after appends made through this instance (an in-process
    /// dispatcher wakes on it instead of waiting for its next poll).
    func appendNotifications() -> AsyncStream<Void>

    func close() async
}

extension OutboxStore {
    public func append(_ event: UsageEvent, meter: String) async throws -> EventID {
        try await append(jsonEvents: [event.jsonText], meter: meter)[0]
    }

    public func append(contentsOf events: [UsageEvent], meter: String) async throws -> [EventID] {
        try await append(jsonEvents: events.map(\.jsonText), meter: meter)
    }

    public func append(json: String, meter: String) async throws -> EventID {
        try await append(jsonEvents: [json], meter: meter)[0]
    }

    public func status() async throws -> OutboxStatus {
        try await status(now: WallClock.nowMilliseconds())
    }
}

extension Outbox: OutboxStore {
    public var location: String { configuration.path }
}
