/// What `outbox status` shows: counts per state, overall and per meter, and
/// what is holding events back.
public struct OutboxStatus: Sendable {
    public struct Meter: Sendable {
        public var counts: StateCounts
        /// The last failure's HTTP status, reason and time (unix ms), if any
        /// since the last accepted batch.
        public var lastStatus: Int?
        public var lastError: String?
        public var lastErrorAt: Int64?
        public var lastSuccessAt: Int64?
        /// Paused by an operator: appends go on, no dispatcher claims.
        public var pause: MeterPause?
        /// Events moved from sent to dead by reconcile (rejected by Zuora
        /// after its 200), since the meter's first event.
        public var lateRejected: Int
        /// Age in seconds of the meter's oldest event not yet delivered, or
        /// nil when it has none.
        public var oldestPendingAgeSeconds: Double?

        public init(
            counts: StateCounts, lastStatus: Int? = nil, lastError: String? = nil, lastErrorAt: Int64? = nil, lastSuccessAt: Int64? = nil,
            pause: MeterPause? = nil, lateRejected: Int = 0, oldestPendingAgeSeconds: Double? = nil
        ) {
            self.oldestPendingAgeSeconds = oldestPendingAgeSeconds
            self.counts = counts
            self.lastStatus = lastStatus
            self.lastError = lastError
            self.lastErrorAt = lastErrorAt
            self.lastSuccessAt = lastSuccessAt
            self.pause = pause
            self.lateRejected = lateRejected
        }
    }

    public var totals: StateCounts
    public var meters: [String: Meter]
    /// Age in seconds of the oldest event not yet delivered (pending,
    /// inflight or failed), or nil when there is none.
    public var oldestPendingAgeSeconds: Double?
    /// The same among the meters that are not paused: what a backlog alert
    /// should page on (a paused meter waits on purpose).
    public var oldestUnpausedAgeSeconds: Double?
    /// The same among the paused meters only.
    public var oldestPausedAgeSeconds: Double?
    /// When the earliest failed event is due for its retry (unix ms).
    public var nextRetryAt: Int64?

    public init(
        totals: StateCounts, meters: [String: Meter], oldestPendingAgeSeconds: Double?, nextRetryAt: Int64?,
        oldestUnpausedAgeSeconds: Double? = nil, oldestPausedAgeSeconds: Double? = nil
    ) {
        self.totals = totals
        self.meters = meters
        self.oldestPendingAgeSeconds = oldestPendingAgeSeconds
        self.nextRetryAt = nextRetryAt
        self.oldestUnpausedAgeSeconds = oldestUnpausedAgeSeconds
        self.oldestPausedAgeSeconds = oldestPausedAgeSeconds
    }

    /// The status whose overall ages are derived from the meters' own: the
    /// oldest of all, of the meters running, and of the paused ones. Both
    /// stores read each meter's age and leave these rules to this one place.
    public static func derivingAges(totals: StateCounts, meters: [String: Meter], nextRetryAt: Int64?) -> OutboxStatus {
        let running = meters.values.filter { $0.pause == nil }.compactMap(\.oldestPendingAgeSeconds).max()
        let paused = meters.values.filter { $0.pause != nil }.compactMap(\.oldestPendingAgeSeconds).max()
        return OutboxStatus(
            totals: totals, meters: meters, oldestPendingAgeSeconds: [running, paused].compactMap { $0 }.max(), nextRetryAt: nextRetryAt,
            oldestUnpausedAgeSeconds: running, oldestPausedAgeSeconds: paused)
    }
}
