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
        let statement = try connection.cached(
            """
            SELECT meter, appended, pending, inflight, failed, sent, dead, purged,
                   last_status, last_error, last_error_at, last_success_at,
                   paused, pause_reason, paused_at, late_rejected, purged_dead
            FROM outbox_meters ORDER BY meter
            """)
        while try statement.step() {
            let counts = StateCounts(
                appended: statement.int(1), pending: statement.int(2), inflight: statement.int(3),
                failed: statement.int(4), sent: statement.int(5), dead: statement.int(6), purged: statement.int(7), purgedDead: statement.int(16))
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
        var nextRetry: Int64?
        if totals.undelivered > 0 {
            // Ids grow with insertion time: a meter's oldest undelivered event
            // is the smallest id among its first unclaimed event, its open
            // ranges and its retry rows.
            let oldest = try connection.cached(
                """
                SELECT g.meter, l.created_at FROM (
                    SELECT f.meter AS meter, min(f.id) AS id FROM (
                        SELECT m.meter AS meter, (SELECT min(l.id) FROM outbox_log l WHERE l.meter = m.meter AND l.id > m.claimed_through) AS id
                        FROM outbox_meters m
                        UNION ALL SELECT r.meter, min(r.first_id) FROM outbox_ranges r WHERE r.settled_at IS NULL GROUP BY r.meter
                        UNION ALL SELECT x.meter, min(x.id) FROM outbox_retries x GROUP BY x.meter) AS f
                    WHERE f.id IS NOT NULL GROUP BY f.meter) AS g
                JOIN outbox_log l ON l.id = g.id
                """)
            defer { oldest.reset() }
            while try oldest.step() {
                meters[oldest.string(0)]?.oldestPendingAgeSeconds = max(0, Double(now - oldest.int64(1)) / 1000)
            }
        }
        if totals.failed > 0 {
            nextRetry = try connection.scalarInt("SELECT min(due_at) FROM outbox_retries WHERE state = 2")
        }
        return OutboxStatus.derivingAges(totals: totals, meters: meters, nextRetryAt: nextRetry)
    }
}
