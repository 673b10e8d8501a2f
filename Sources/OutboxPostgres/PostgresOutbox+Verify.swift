import Logging
import OutboxCore
import PostgresNIO

/// Verification on PostgreSQL: the same report as the SQLite store.
extension PostgresOutbox {
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
