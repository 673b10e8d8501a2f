/// What a dispatcher needs from a store: claim due events under a lease,
/// then record what Zuora said about them. The SQLite `Outbox` implements it;
/// other stores (PostgreSQL) can too, and the dispatcher works the same on all.
///
/// Every mark takes the claim's `owner` and changes only rows still claimed by
/// it: once a lease has expired and another dispatcher took the rows over,
/// the first one's late answers change nothing.
public protocol DispatchStore: Sendable {
    /// Meters that have events still to deliver (pending, inflight or failed).
    func metersWithWork() async throws -> [String]

    /// Whether any event is due now (a cheap read, for idle polling).
    func hasDueEvents(now: Int64) async throws -> Bool

    /// Claims up to `limit` due events of `meter` whose JSON array stays within
    /// `maxBytes` (always at least one event), leased to `owner` until
    /// `leaseUntil`. Due events are pending, failed with their retry time
    /// passed, or inflight with an expired lease.
    func claim(meter: String, owner: String, limit: Int, maxBytes: Int, leaseUntil: Int64, now: Int64) async throws -> [ClaimedEvent]

    /// Extends the lease on events still held by `owner`; returns their row ids.
    func renewLease(_ rowIDs: [Int64], owner: String, until: Int64, now: Int64) async throws -> Set<Int64>

    /// Zuora accepted these events.
    func markSent(_ rowIDs: [Int64], meter: String, owner: String, status: Int, trackID: String, now: Int64) async throws -> Int

    /// A failure worth retrying. With `spendAttempt`, the events' attempt
    /// counts go up, and those reaching `maxAttempts` (when > 0) are
    /// dead-lettered instead.
    func markFailed(_ rowIDs: [Int64], meter: String, owner: String, failure: DeliveryFailure, retryAt: Int64,
                    spendAttempt: Bool, maxAttempts: Int, now: Int64) async throws -> MarkResult

    /// Zuora rejected these events for good: set them aside as dead letters.
    func markDead(_ rowIDs: [Int64], meter: String, owner: String, failure: DeliveryFailure, now: Int64) async throws -> Int

    /// Gives claimed events back, due at once, without spending an attempt
    /// (a dispatcher shutting down).
    func release(_ rowIDs: [Int64], meter: String, owner: String, now: Int64) async throws -> Int

    /// When the earliest undelivered event is due (unix ms), or nil if none.
    func nextDueTime() async throws -> Int64?

    /// Events still to deliver: pending, inflight or failed.
    func undeliveredCount() async throws -> Int
}

/// One event handed to a dispatcher by a claim.
public struct ClaimedEvent: Sendable {
    public let rowID: Int64
    public let eventID: String
    /// The event's JSON text, as appended.
    public let body: [UInt8]
    public let attempts: Int

    public init(rowID: Int64, eventID: String, body: [UInt8], attempts: Int) {
        self.rowID = rowID
        self.eventID = eventID
        self.body = body
        self.attempts = attempts
    }
}

/// Why a delivery failed, as recorded on the events and the meter.
public struct DeliveryFailure: Sendable, Equatable {
    /// HTTP status, when Zuora answered.
    public var status: Int?
    /// A short reason a person can read.
    public var reason: String
    /// Zuora's response body (kept for dead letters), trimmed.
    public var responseBody: String?
    public var trackID: String?

    public init(status: Int?, reason: String, responseBody: String? = nil, trackID: String? = nil) {
        self.status = status
        self.reason = reason
        self.responseBody = responseBody
        self.trackID = trackID
    }
}

public struct MarkResult: Sendable, Equatable {
    public var failed: Int
    public var dead: Int

    public init(failed: Int, dead: Int) {
        self.failed = failed
        self.dead = dead
    }
}
