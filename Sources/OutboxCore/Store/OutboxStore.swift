/// Everything the CLI and an app need from an outbox, whatever holds it:
/// the SQLite `Outbox` (the embedded default, one per app host), or the
/// PostgreSQL store in the `OutboxPostgres` module (many hosts, one queue).
/// The dispatcher's part (`DispatchStore`) and reconcile's
/// (`ReconcileStore`) are package protocols that both stores also conform
/// to, so the types they trade in stay out of the public API.
public protocol OutboxStore: Sendable {
    /// Where the events live, for messages: a path, or a URL without its password.
    var location: String { get }

    /// Appends events given as JSON texts, all or none; durable on return.
    /// Idempotent by id (see `AppendResult`): one id per input event.
    @discardableResult
    func append(jsonEvents: [String], meter: String) async throws -> [EventID]

    /// Appends like `append(jsonEvents:meter:)`, and says which events were
    /// duplicates of an id the meter already holds.
    func appendReporting(jsonEvents: [String], meter: String) async throws -> AppendResult

    /// Appends every event of an input (object, array or NDJSON) in one
    /// transaction, all or none, idempotent by id like every append: how
    /// many were appended, and how many were duplicates.
    func appendStreamReporting(
        fileDescriptor: Int32, meter: String, progress: (@Sendable (_ bytesRead: Int, _ events: Int) -> Void)?
    ) async throws -> AppendCounts

    func status(now: Int64) async throws -> OutboxStatus

    func deadLetters(meter: String?, deadBefore: Int64?, limit: Int) async throws -> [DeadLetter]
    /// The dead letters `filter` selects, newest first, at most `limit`;
    /// with each one's history of answers when `withHistory`.
    func deadLetters(_ filter: DeadLetterFilter, limit: Int, withHistory: Bool) async throws -> [DeadLetter]
    /// One dead letter by its event's id, with its history; nil when none.
    func deadLetter(id: String) async throws -> DeadLetter?
    /// The dead letters `filter` selects, counted per status, meter and
    /// start of the reason: `DeadLetterCauses.merge` makes causes of them.
    func deadLetterTallies(_ filter: DeadLetterFilter) async throws -> [DeadLetterTally]
    /// The ids of dead letters (of `meter`, when given) that begin with
    /// `prefix`, in byte order (so an id equal to it comes first), at most
    /// `limit`. `DeadLetterIDPrefix` decides what they mean.
    func deadLetterIDs(startingWith prefix: String, meter: String?, limit: Int) async throws -> [String]
    func retryDeadLetters(_ selection: DeadLetterSelection) async throws -> Int
    func purgeDeadLetters(_ selection: DeadLetterSelection) async throws -> Int

    /// Deletes events sent before `sentBefore` (unix ms) and gives the space back.
    func purgeSent(before sentBefore: Int64) async throws -> PurgeResult
    /// How many events `purgeSent(before:)` would delete now: a dry run.
    func purgeableSentCount(before sentBefore: Int64) async throws -> Int

    /// Conservation per meter, and the store's own integrity check.
    func verify() async throws -> VerifyReport

    // MARK: Meters an operator controls

    /// Stops dispatchers from claiming `meter`'s events; appends go on.
    /// Throws `.unknownMeter` for a meter the outbox has never seen.
    func pauseMeter(_ meter: String, reason: String?) async throws
    /// Lets dispatchers claim `meter`'s events again.
    func resumeMeter(_ meter: String) async throws

    /// Yields after appends made through this instance (an in-process
    /// dispatcher wakes on it instead of waiting for its next poll).
    func appendNotifications() -> AsyncStream<Void>

    func close() async
}

extension OutboxStore {
    /// `appendStreamReporting`, returning the number of events appended.
    public func appendStream(
        fileDescriptor: Int32, meter: String, progress: (@Sendable (_ bytesRead: Int, _ events: Int) -> Void)? = nil
    ) async throws -> Int {
        try await appendStreamReporting(fileDescriptor: fileDescriptor, meter: meter, progress: progress).appended
    }

    @discardableResult
    public func append(_ event: UsageEvent, meter: String) async throws -> EventID {
        try await append(jsonEvents: [event.jsonText], meter: meter)[0]
    }

    @discardableResult
    public func append(contentsOf events: [UsageEvent], meter: String) async throws -> [EventID] {
        try await append(jsonEvents: events.map(\.jsonText), meter: meter)
    }

    @discardableResult
    public func append(json: String, meter: String) async throws -> EventID {
        try await append(jsonEvents: [json], meter: meter)[0]
    }

    public func status() async throws -> OutboxStatus {
        try await status(now: WallClock.nowMilliseconds())
    }
}
