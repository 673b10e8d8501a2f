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

        public init(counts: StateCounts, lastStatus: Int? = nil, lastError: String? = nil, lastErrorAt: Int64? = nil, lastSuccessAt: Int64? = nil,
                    pause: MeterPause? = nil, lateRejected: Int = 0) {
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
    /// When the earliest failed event is due for its retry (unix ms).
    public var nextRetryAt: Int64?

    public init(totals: StateCounts, meters: [String: Meter], oldestPendingAgeSeconds: Double?, nextRetryAt: Int64?) {
        self.totals = totals
        self.meters = meters
        self.oldestPendingAgeSeconds = oldestPendingAgeSeconds
        self.nextRetryAt = nextRetryAt
    }
}

extension Outbox {
    public func status(now: Int64 = WallClock.nowMilliseconds()) async throws -> OutboxStatus {
        try await database.withConnection { connection in
            try OutboxStatusQuery.read(connection, now: now)
        }
    }
}

enum OutboxStatusQuery {
    static func read(_ connection: SQLiteConnection, now: Int64) throws -> OutboxStatus {
        var meters: [String: OutboxStatus.Meter] = [:]
        var totals = StateCounts()
        let statement = try connection.cached("""
            SELECT meter, appended, pending, inflight, failed, sent, dead, purged,
                   last_status, last_error, last_error_at, last_success_at,
                   paused, pause_reason, paused_at, late_rejected
            FROM outbox_meters ORDER BY meter
            """)
        while try statement.step() {
            let counts = StateCounts(
                appended: statement.int(1), pending: statement.int(2), inflight: statement.int(3),
                failed: statement.int(4), sent: statement.int(5), dead: statement.int(6), purged: statement.int(7))
            totals += counts
            meters[statement.string(0)] = OutboxStatus.Meter(
                counts: counts,
                lastStatus: statement.optionalInt64(8).map { Int($0) },
                lastError: statement.optionalString(9),
                lastErrorAt: statement.optionalInt64(10),
                lastSuccessAt: statement.optionalInt64(11),
                pause: statement.int(12) != 0 ? MeterPause(reason: statement.optionalString(13), pausedAt: statement.optionalInt64(14) ?? 0) : nil,
                lateRejected: statement.int(15))
        }
        statement.reset()
        var oldestAge: Double?
        var nextRetry: Int64?
        if totals.undelivered > 0 {
            // Row ids grow with insertion time, and the due index holds every
            // undelivered row's id: the smallest id is the oldest event.
            if let oldest = try connection.scalarInt("""
                SELECT created_at FROM outbox_events WHERE id = (
                    SELECT min(id) FROM outbox_events INDEXED BY outbox_events_due WHERE state < 3)
                """) {
                oldestAge = max(0, Double(now - oldest) / 1000)
            }
        }
        if totals.failed > 0 {
            nextRetry = try connection.scalarInt("SELECT min(next_attempt_at) FROM outbox_events INDEXED BY outbox_events_due WHERE state < 3 AND state = 2")
        }
        return OutboxStatus(totals: totals, meters: meters, oldestPendingAgeSeconds: oldestAge, nextRetryAt: nextRetry)
    }
}
