import Logging
import OutboxCore
import PostgresNIO

/// Retention on PostgreSQL: the same answers as the SQLite store.
extension PostgresOutbox {
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
                    WHERE \(unescaped: SentRetention.eventIsDeletedSQL(idColumn: "inside.id", .postgres))) AS kept
                WHERE r.settled_at < \(sentBefore)
                """, logger: logger
            ).decode(Int64.self) {
                return Int(count)
            }
            return 0
        }
    }

    /// One batch of retention (`SentRetention` says what goes): settled
    /// ranges, oldest first, until about
    /// `size` events went. Returns the events deleted, and whether more
    /// ranges are due.
    static func purgeSettledRanges(before cutoff: Int64, about size: Int, on connection: PostgresConnection, logger: Logger) async throws
        -> (deleted: Int, more: Bool)
    {
        var candidates: [PostgresRange] = []
        for try await (meter, fx, fi, lx, li, count) in try await connection.query(
            """
            SELECT meter, first_xact, first_id, last_xact, last_id, events FROM outbox_ranges
            WHERE settled_at < \(cutoff) ORDER BY settled_at LIMIT \(Purging.rangesPerBatch + 1)
            FOR UPDATE SKIP LOCKED
            """, logger: logger
        ).decode((String, Int64, Int64, Int64, Int64, Int32).self) {
            candidates.append(
                PostgresRange(
                    meter: meter, first: PostgresLogKey(xact: fx, id: fi), last: PostgresLogKey(xact: lx, id: li),
                    events: Int(count), token: nil, leaseUntil: nil))
        }
        let (count, more) = Purging.rangesToDelete(eventCounts: candidates.map(\.events), about: size)
        let chosen = candidates.prefix(count)
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
                      AND \(unescaped: SentRetention.eventIsDeletedSQL(idColumn: "l.id", .postgres))
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
        return (byMeter.values.reduce(0, +), more)
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
}
