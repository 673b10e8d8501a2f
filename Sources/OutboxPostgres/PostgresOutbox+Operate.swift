import Logging
import OutboxCore
import PostgresNIO

/// Status, dead letters, retention and verification on PostgreSQL: the same
/// answers as the SQLite store, so every command works unchanged.
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
            var oldest: Double?
            var nextRetry: Int64?
            if totals.undelivered > 0 {
                for try await age in try await connection.query(
                    "SELECT \(unescaped: Self.serverNow) - min(created_at) FROM outbox_events WHERE state < 3", logger: logger
                ).decode(Int64?.self) {
                    oldest = age.map { max(0, Double($0) / 1000) }
                }
            }
            if totals.failed > 0 {
                for try await due in try await connection.query("SELECT min(next_attempt_at) FROM outbox_events WHERE state = 2", logger: logger).decode(
                    Int64?.self)
                {
                    nextRetry = due
                }
            }
            return OutboxStatus(totals: totals, meters: meters, oldestPendingAgeSeconds: oldest, nextRetryAt: nextRetry)
        }
    }

    static func counters(_ connection: PostgresConnection, logger: Logger) async throws -> [(String, StateCounts)] {
        var result: [(String, StateCounts)] = []
        for try await (meter, appended, pending, inflight, failed, sent, dead, purged) in try await connection.query(
            """
            SELECT meter, sum(appended)::bigint, sum(pending)::bigint, sum(inflight)::bigint, sum(failed)::bigint,
                   sum(sent)::bigint, sum(dead)::bigint, sum(purged)::bigint
            FROM outbox_meter_counters GROUP BY meter ORDER BY meter
            """, logger: logger
        ).decode((String, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
            result.append(
                (
                    meter,
                    StateCounts(
                        appended: Int(appended), pending: Int(pending), inflight: Int(inflight), failed: Int(failed),
                        sent: Int(sent), dead: Int(dead), purged: Int(purged))
                ))
        }
        return result
    }

    // MARK: Dead letters

    public func deadLetters(meter: String?, deadBefore: Int64?, limit: Int) async throws -> [DeadLetter] {
        let limit = Int64(min(limit, Int(Int64.max)))
        return try await read { connection in
            try await Self.letters(
                try await connection.query(
                    """
                    SELECT event_id, meter, body, last_status, coalesce(last_error, ''), attempts, response_body, track_id,
                           created_at, updated_at, coalesce(dead_at, updated_at)
                    FROM outbox_events
                    WHERE state = 4 AND (\(meter)::text IS NULL OR meter = \(meter)) AND (\(deadBefore)::bigint IS NULL OR dead_at < \(deadBefore))
                    ORDER BY dead_at DESC, id DESC LIMIT \(limit)
                    """, logger: logger))
        }
    }

    public func deadLetter(id: String) async throws -> DeadLetter? {
        try await read { connection in
            try await Self.letters(
                try await connection.query(
                    """
                    SELECT event_id, meter, body, last_status, coalesce(last_error, ''), attempts, response_body, track_id,
                           created_at, updated_at, coalesce(dead_at, updated_at)
                    FROM outbox_events WHERE state = 4 AND event_id = \(id)
                    """, logger: logger)
            ).first
        }
    }

    static func letters(_ rows: PostgresRowSequence) async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        for try await (id, meter, body, status, reason, attempts, response, track, created, updated, dead) in rows.decode(
            (String, String, String, Int32?, String, Int32, String?, String?, Int64, Int64, Int64).self)
        {
            letters.append(
                DeadLetter(
                    id: id, meter: meter, event: body, status: status.map(Int.init), reason: reason, attempts: Int(attempts),
                    responseBody: response, trackID: track, createdAt: created, updatedAt: updated, deadAt: dead))
        }
        return letters
    }

    public func retryDeadLetters(_ selection: DeadLetterSelection) async throws -> Int {
        try await changeDeadLetters(selection) { connection, rowIDs in
            var byMeter: [String: Int] = [:]
            for try await meter in try await connection.query(
                """
                UPDATE outbox_events SET state = 0, attempts = 0, next_attempt_at = \(unescaped: Self.serverNow), updated_at = \(unescaped: Self.serverNow),
                    dead_at = NULL, lease_owner = NULL
                WHERE id = ANY(\(rowIDs)) AND state = 4 RETURNING meter
                """, logger: self.logger
            ).decode(String.self) {
                byMeter[meter, default: 0] += 1
            }
            return byMeter.mapValues { StateCounts(pending: $0, dead: -$0) }
        }
    }

    public func purgeDeadLetters(_ selection: DeadLetterSelection) async throws -> Int {
        try await changeDeadLetters(selection) { connection, rowIDs in
            var byMeter: [String: Int] = [:]
            for try await meter in try await connection.query(
                "DELETE FROM outbox_events WHERE id = ANY(\(rowIDs)) AND state = 4 RETURNING meter",
                logger: self.logger
            ).decode(String.self) {
                byMeter[meter, default: 0] += 1
            }
            return byMeter.mapValues { StateCounts(dead: -$0, purged: $0) }
        }
    }

    /// Resolves the selection to rows (every explicit id must name a dead
    /// letter, else nothing changes), applies `change`, keeps the counters.
    private func changeDeadLetters(
        _ selection: DeadLetterSelection,
        _ change: @escaping (PostgresConnection, [Int64]) async throws -> [String: StateCounts]
    ) async throws -> Int {
        try await transaction { connection in
            var rowIDs: [Int64] = []
            if selection.ids != nil {
                var lookup = DeadLetterLookup(selection)
                for try await (row, eventID, meter) in try await connection.query(
                    "SELECT id, event_id, meter FROM outbox_events WHERE state = 4 AND event_id = ANY(\(lookup.wantedIDs)) FOR UPDATE", logger: logger
                ).decode((Int64, String, String).self) {
                    lookup.found(id: eventID, row: row, meter: meter)
                }
                rowIDs = try lookup.rowsByMeter().values.flatMap { $0 }
            } else {
                for try await row in try await connection.query(
                    """
                    SELECT id FROM outbox_events WHERE state = 4 AND (\(selection.meter)::text IS NULL OR meter = \(selection.meter))
                      AND (\(selection.deadBefore)::bigint IS NULL OR dead_at < \(selection.deadBefore))
                    FOR UPDATE
                    """, logger: logger
                ).decode(Int64.self) {
                    rowIDs.append(row)
                }
            }
            guard !rowIDs.isEmpty else { return 0 }
            var total = 0
            for (meter, delta) in try await change(connection, rowIDs).sorted(by: { $0.key < $1.key }) {
                try await Self.adjust(delta, meter: meter, on: connection, logger: logger)
                total += delta.pending + delta.purged
            }
            return total
        }
    }

    // MARK: Retention and verification

    public func purgeSent(before sentBefore: Int64) async throws -> PurgeResult {
        let sizeBefore = try await tableSize()
        let purged = try await Purging.inBatches { limit in
            try await transaction { connection in
                var byMeter: [String: Int] = [:]
                for try await meter in try await connection.query(
                    """
                    DELETE FROM outbox_events WHERE id IN (
                        SELECT id FROM outbox_events WHERE state = 3 AND sent_at < \(sentBefore) LIMIT \(limit))
                    RETURNING meter
                    """, logger: logger
                ).decode(String.self) {
                    byMeter[meter, default: 0] += 1
                }
                for (meter, count) in byMeter.sorted(by: { $0.key < $1.key }) {
                    try await Self.adjust(StateCounts(sent: -count, purged: count), meter: meter, on: connection, logger: logger)
                }
                let deleted = byMeter.values.reduce(0, +)
                return (deleted, deleted == limit)
            }
        }
        // VACUUM cannot run in a transaction; it makes the space reusable.
        try await read { connection in _ = try await connection.query("VACUUM outbox_events", logger: logger) }
        let sizeAfter = try await tableSize()
        return PurgeResult(purged: purged, bytesFreed: max(0, sizeBefore - sizeAfter))
    }

    func tableSize() async throws -> Int64 {
        try await read { connection in
            for try await size in try await connection.query("SELECT pg_total_relation_size('outbox_events')", logger: logger).decode(Int64.self) {
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
            var rows: [String: StateCounts] = [:]
            for try await (meter, state, count) in try await connection.query(
                "SELECT meter, state, count(*)::bigint FROM outbox_events GROUP BY meter, state", logger: logger
            ).decode((String, Int16, Int64).self) {
                rows[meter, default: StateCounts()].count(Int(count), rawState: Int64(state))
            }
            try await connection.query("COMMIT", logger: logger)
            return VerifyReport(counters: counters, rows: rows, integrity: ["ok"])
        }
    }
}
