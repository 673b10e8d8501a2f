import Logging
import OutboxCore
import PostgresNIO

/// Status on PostgreSQL: the same answers as the SQLite store, so every
/// command works unchanged.
extension PostgresOutbox {
    public func status(now: Int64) async throws -> OutboxStatus {
        try await read { connection in
            var meters: [String: OutboxStatus.Meter] = [:]
            var totals = StateCounts()
            for (meter, counts) in try await Self.counters(connection, logger: logger) {
                totals += counts
                meters[meter] = OutboxStatus.Meter(counts: counts, lastStatus: nil, lastError: nil, lastErrorAt: nil, lastSuccessAt: nil)
            }
            for try await (meter, status, error, errorAt, successAt, paused, reason, pausedAt, late) in try await connection.query(
                "SELECT meter, last_status, last_error, last_error_at, last_success_at, paused, pause_reason, paused_at, late_rejected FROM outbox_meters",
                logger: logger
            ).decode((String, Int32?, String?, Int64?, Int64?, Bool, String?, Int64?, Int64).self) {
                meters[meter]?.lastStatus = status.map(Int.init)
                meters[meter]?.lastError = error
                meters[meter]?.lastErrorAt = errorAt
                meters[meter]?.lastSuccessAt = successAt
                meters[meter]?.pause = paused ? MeterPause(reason: reason, pausedAt: pausedAt ?? 0) : nil
                meters[meter]?.lateRejected = Int(late)
            }
            var nextRetry: Int64?
            if totals.undelivered > 0 {
                // Each meter's oldest among its first unclaimed event, its open
                // ranges' first events and its retry rows.
                for try await (meter, age) in try await connection.query(
                    """
                    SELECT firsts.meter, \(unescaped: Self.serverNow) - min(firsts.created_at) FROM (
                        SELECT m.meter, (SELECT l.created_at FROM outbox_log l
                                WHERE l.meter = m.meter AND (l.xact, l.id) > (coalesce(o.claimed_xact, 0), coalesce(o.claimed_id, 0))
                                ORDER BY l.xact, l.id LIMIT 1) AS created_at
                        FROM (SELECT DISTINCT meter FROM outbox_meter_counters) AS m LEFT JOIN outbox_positions o ON o.meter = m.meter
                        UNION ALL
                        SELECT r.meter, l.created_at FROM outbox_ranges r JOIN outbox_log l ON l.meter = r.meter AND (l.xact, l.id) = (r.first_xact, r.first_id)
                        WHERE r.settled_at IS NULL
                        UNION ALL
                        SELECT r.meter, min(l.created_at) FROM outbox_retries r JOIN outbox_log l ON l.id = r.id GROUP BY r.meter) AS firsts
                    WHERE firsts.created_at IS NOT NULL
                    GROUP BY firsts.meter
                    """, logger: logger
                ).decode((String, Int64?).self) {
                    if let age { meters[meter]?.oldestPendingAgeSeconds = max(0, Double(age) / 1000) }
                }
            }
            if totals.failed > 0 {
                for try await due in try await connection.query("SELECT min(due_at) FROM outbox_retries WHERE state = 2", logger: logger).decode(
                    Int64?.self)
                {
                    nextRetry = due
                }
            }
            return OutboxStatus.derivingAges(totals: totals, meters: meters, nextRetryAt: nextRetry)
        }
    }

    static func counters(_ connection: PostgresConnection, logger: Logger) async throws -> [(String, StateCounts)] {
        var result: [(String, StateCounts)] = []
        for try await (meter, appended, pending, inflight, failed, sent, dead, purged, purgedDead) in try await connection.query(
            """
            SELECT meter, sum(appended)::bigint, sum(pending)::bigint, sum(inflight)::bigint, sum(failed)::bigint,
                   sum(sent)::bigint, sum(dead)::bigint, sum(purged)::bigint, sum(purged_dead)::bigint
            FROM outbox_meter_counters GROUP BY meter ORDER BY meter
            """, logger: logger
        ).decode((String, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
            result.append(
                (
                    meter,
                    StateCounts(
                        appended: Int(appended), pending: Int(pending), inflight: Int(inflight), failed: Int(failed),
                        sent: Int(sent), dead: Int(dead), purged: Int(purged), purgedDead: Int(purgedDead))
                ))
        }
        return result
    }
}
