import Logging
import OutboxCore
import PostgresNIO

/// Status, retention and verification on PostgreSQL: the same answers as
/// the SQLite store, so every command works unchanged.
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

    // MARK: Retention and verification

    /// Deletes events Zuora accepted before `sentBefore` (unix ms): the
    /// ranges settled before it, less their events that have rows of their
    /// own (retries, dead letters), a batch per transaction; then VACUUM.
    public func purgeSent(before sentBefore: Int64) async throws -> PurgeResult {
        let sizeBefore = try await tableSize()
        let (purged, batches) = try await Purging.inBatches { size in
            try await transaction { connection in
                try await Self.purgeSettledRanges(before: sentBefore, about: size, on: connection, logger: logger)
            }
        }
        // VACUUM cannot run in a transaction; it makes the space reusable.
        try await read { connection in _ = try await connection.query("VACUUM outbox_log", logger: logger) }
        let sizeAfter = try await tableSize()
        return PurgeResult(purged: purged, bytesFreed: max(0, sizeBefore - sizeAfter), batches: batches)
    }

    public func purgeableSentCount(before sentBefore: Int64) async throws -> Int {
        try await read { connection in
            for try await count in try await connection.query(
                """
                SELECT coalesce(sum(kept.events), 0)::bigint FROM outbox_ranges r,
                LATERAL (
                    -- Each range's events read as retention reads them: in
                    -- log order, at most the range's count (a row comparison
                    -- bounds an index scan by its first column only).
                    SELECT count(*) AS events FROM (
                        SELECT l.id FROM outbox_log l
                        WHERE l.meter = r.meter AND (l.xact, l.id) >= (r.first_xact, r.first_id) AND (l.xact, l.id) <= (r.last_xact, r.last_id)
                        ORDER BY l.xact, l.id LIMIT r.events) AS inside
                    WHERE NOT EXISTS (SELECT 1 FROM outbox_retries x WHERE x.id = inside.id)
                      AND NOT EXISTS (SELECT 1 FROM outbox_dead d WHERE d.id = inside.id)) AS kept
                WHERE r.settled_at IS NOT NULL AND r.settled_at < \(sentBefore)
                """, logger: logger
            ).decode(Int64.self) {
                return Int(count)
            }
            return 0
        }
    }

    /// One batch of retention: settled ranges, oldest first, until about
    /// `size` events went. Returns the events deleted, and whether more
    /// ranges are due.
    static func purgeSettledRanges(before cutoff: Int64, about size: Int, on connection: PostgresConnection, logger: Logger) async throws
        -> (deleted: Int, more: Bool)
    {
        var chosen: [PostgresRange] = []
        var events = 0
        var more = false
        for try await (meter, fx, fi, lx, li, count) in try await connection.query(
            """
            SELECT meter, first_xact, first_id, last_xact, last_id, events FROM outbox_ranges
            WHERE settled_at IS NOT NULL AND settled_at < \(cutoff) ORDER BY settled_at LIMIT 200
            FOR UPDATE SKIP LOCKED
            """, logger: logger
        ).decode((String, Int64, Int64, Int64, Int64, Int32).self) {
            guard events < size else {
                more = true
                continue
            }
            chosen.append(
                PostgresRange(
                    meter: meter, first: PostgresLogKey(xact: fx, id: fi), last: PostgresLogKey(xact: lx, id: li),
                    events: Int(count), token: nil, leaseUntil: nil))
            events += Int(count)
        }
        // Reconcile may be turning some of these events into dead letters:
        // wait for it, then look again (each statement below sees what it
        // committed), so no dead letter loses its event.
        for meter in Set(chosen.map(\.meter)).sorted() {
            try await lockMeterAgainstRetention(meter, on: connection, logger: logger)
        }
        var byMeter: [String: Int] = [:]
        for range in chosen {
            for try await deleted in try await connection.query(
                """
                WITH gone AS (
                    DELETE FROM outbox_log l
                    WHERE l.id IN (
                        SELECT id FROM outbox_log WHERE meter = \(range.meter)
                          AND (xact, id) >= (\(range.first.xact), \(range.first.id))
                          AND (xact, id) <= (\(range.last.xact), \(range.last.id))
                        ORDER BY xact, id LIMIT \(range.events))
                      AND NOT EXISTS (SELECT 1 FROM outbox_retries r WHERE r.id = l.id)
                      AND NOT EXISTS (SELECT 1 FROM outbox_dead d WHERE d.id = l.id)
                    RETURNING l.id),
                -- A history of answers whose event is gone goes with it.
                answers AS (DELETE FROM outbox_answers a USING gone WHERE a.id = gone.id)
                SELECT count(*)::bigint FROM gone
                """, logger: logger
            ).decode(Int64.self) {
                byMeter[range.meter, default: 0] += Int(deleted)
            }
            try await PostgresRangeClaims.delete(range, on: connection, logger: logger)
        }
        for (meter, count) in byMeter.sorted(by: { $0.key < $1.key }) where count > 0 {
            try await adjust(StateCounts(sent: -count, purged: count), meter: meter, on: connection, logger: logger)
        }
        return (byMeter.values.reduce(0, +), more || chosen.count == 200)
    }

    /// Serializes retention with reconcile on one meter, until the
    /// transaction ends: both read a sent event and act on it (retention
    /// deletes it, reconcile writes its dead row), and each must see what
    /// the other committed. (SQLite has one writer, so it needs no such lock.)
    static func lockMeterAgainstRetention(_ meter: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(\(Self.retentionLockClass), hashtext(\(meter)))", logger: logger)
    }

    /// The first key of the two-key advisory locks on meters ("ob").
    static let retentionLockClass: Int32 = 0x6F62

    func tableSize() async throws -> Int64 {
        try await read { connection in
            for try await size in try await connection.query("SELECT pg_total_relation_size('outbox_log')", logger: logger).decode(Int64.self) {
                return size
            }
            return 0
        }
    }

    /// Conservation per meter from one snapshot (REPEATABLE READ). PostgreSQL
    /// checks its own pages; `integrity` reports that the server answered.
    public func verify() async throws -> VerifyReport {
        try await read { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            var counters: [String: StateCounts] = [:]
            for (meter, counts) in try await Self.counters(connection, logger: logger) { counters[meter] = counts }
            // What the rows say, per meter: the log's events past the
            // position are pending; open ranges are in flight; retry rows and
            // dead letters say their own state; every other event was sent.
            var rows: [String: StateCounts] = [:]
            for try await (meter, total, unclaimed, inflight, dead) in try await connection.query(
                """
                SELECT m.meter,
                    (SELECT count(*) FROM outbox_log l WHERE l.meter = m.meter)::bigint,
                    (SELECT count(*) FROM outbox_log l WHERE l.meter = m.meter
                        AND (l.xact, l.id) > (coalesce(o.claimed_xact, 0), coalesce(o.claimed_id, 0)))::bigint,
                    (SELECT coalesce(sum(events), 0) FROM outbox_ranges r WHERE r.meter = m.meter AND r.settled_at IS NULL)::bigint,
                    (SELECT count(*) FROM outbox_dead d WHERE d.meter = m.meter)::bigint
                FROM (SELECT DISTINCT meter FROM outbox_log UNION SELECT DISTINCT meter FROM outbox_meter_counters) AS m
                    LEFT JOIN outbox_positions o ON o.meter = m.meter
                """, logger: logger
            ).decode((String, Int64, Int64, Int64, Int64).self) {
                var counts = StateCounts(pending: Int(unclaimed), inflight: Int(inflight), dead: Int(dead))
                counts.sent = Int(total)
                rows[meter] = counts
            }
            for try await (meter, state, count) in try await connection.query(
                "SELECT meter, state, count(*)::bigint FROM outbox_retries GROUP BY meter, state", logger: logger
            ).decode((String, Int16, Int64).self) {
                rows[meter, default: StateCounts()].count(Int(count), rawState: Int64(state))
            }
            // Every other event still in the log was sent.
            for (meter, var counts) in rows {
                counts.sent -= counts.pending + counts.inflight + counts.failed + counts.dead
                rows[meter] = counts
            }
            var unsplit: [String: Int] = [:]
            for try await (meter, count) in try await connection.query(
                "SELECT meter, sum(purged_unsplit)::bigint FROM outbox_meter_counters GROUP BY meter", logger: logger
            ).decode((String, Int64).self) {
                unsplit[meter] = Int(count)
            }
            let structure = try await Self.logStructure(connection, logger: logger)
            try await connection.query("COMMIT", logger: logger)
            return VerifyReport(counters: counters, rows: rows, structure: structure, integrity: ["ok"], purgedBeforeSplit: unsplit)
        }
    }

    /// The log's shape, row by row (see `LogStructure`): an event hidden
    /// behind its meter's position, an exception row that lost its event, an
    /// open claim that miscounts its events.
    static func logStructure(_ connection: PostgresConnection, logger: Logger) async throws -> LogStructure {
        var structure = LogStructure()
        func perMeter(_ query: PostgresQuery, into keyPath: WritableKeyPath<LogStructure, [String: Int]>) async throws {
            for try await (meter, count) in try await connection.query(query, logger: logger).decode((String, Int64).self) {
                structure[keyPath: keyPath][meter] = Int(count)
            }
        }
        // The covering range of an event is the one starting at or before it.
        try await perMeter(
            """
            SELECT l.meter, count(*)::bigint FROM outbox_log l JOIN outbox_positions o ON o.meter = l.meter
            WHERE (l.xact, l.id) <= (o.claimed_xact, o.claimed_id)
              AND NOT EXISTS (
                  SELECT 1 FROM (SELECT r.last_xact, r.last_id FROM outbox_ranges r
                                 WHERE r.meter = l.meter AND (r.first_xact, r.first_id) <= (l.xact, l.id)
                                 ORDER BY r.first_xact DESC, r.first_id DESC LIMIT 1) AS covering
                  WHERE (covering.last_xact, covering.last_id) >= (l.xact, l.id))
              AND NOT EXISTS (SELECT 1 FROM outbox_retries x WHERE x.id = l.id)
              AND NOT EXISTS (SELECT 1 FROM outbox_dead d WHERE d.id = l.id)
            GROUP BY l.meter
            """, into: \.unreachable)
        try await perMeter(
            "SELECT d.meter, count(*)::bigint FROM outbox_dead d WHERE NOT EXISTS (SELECT 1 FROM outbox_log l WHERE l.id = d.id) GROUP BY d.meter",
            into: \.deadWithoutEvent)
        try await perMeter(
            "SELECT x.meter, count(*)::bigint FROM outbox_retries x WHERE NOT EXISTS (SELECT 1 FROM outbox_log l WHERE l.id = x.id) GROUP BY x.meter",
            into: \.retriesWithoutEvent)
        try await perMeter(
            """
            SELECT r.meter, count(*)::bigint FROM outbox_ranges r WHERE r.settled_at IS NULL
              AND r.events != (SELECT count(*) FROM outbox_log l WHERE l.meter = r.meter
                               AND (l.xact, l.id) >= (r.first_xact, r.first_id) AND (l.xact, l.id) <= (r.last_xact, r.last_id))
            GROUP BY r.meter
            """, into: \.miscountedRanges)
        try await perMeter(
            """
            SELECT l.meter, count(DISTINCT a.id)::bigint FROM outbox_answers a JOIN outbox_log l ON l.id = a.id
            WHERE NOT EXISTS (SELECT 1 FROM outbox_retries x WHERE x.id = a.id) AND NOT EXISTS (SELECT 1 FROM outbox_dead d WHERE d.id = a.id)
            GROUP BY l.meter
            """, into: \.sentWithHistory)
        return structure
    }
}
