extension Outbox {
    public func verify() async throws -> VerifyReport {
        try await database.withConnection { connection in
            // One read transaction: counters and rows from the same snapshot.
            try connection.execute("BEGIN")
            defer { try? connection.execute("COMMIT") }
            var counters: [String: StateCounts] = [:]
            var unsplit: [String: Int] = [:]
            let counterRows = try connection.prepare(
                "SELECT meter, appended, pending, inflight, failed, sent, dead, purged, purged_dead, purged_unsplit FROM outbox_meters")
            while try counterRows.step() {
                counters[counterRows.string(0)] = StateCounts(
                    appended: counterRows.int(1), pending: counterRows.int(2), inflight: counterRows.int(3),
                    failed: counterRows.int(4), sent: counterRows.int(5), dead: counterRows.int(6), purged: counterRows.int(7),
                    purgedDead: counterRows.int(8))
                unsplit[counterRows.string(0)] = counterRows.int(9)
            }
            // What the rows say, per meter: the log's events past the
            // claimed position are pending; open ranges are in flight; retry
            // rows and dead letters say their own state; every other event
            // of the log was sent.
            var rows: [String: StateCounts] = [:]
            var logRows: [String: Int] = [:]
            let perMeter = try connection.prepare(
                """
                SELECT m.meter,
                    (SELECT count(*) FROM outbox_log l WHERE l.meter = m.meter),
                    (SELECT count(*) FROM outbox_log l WHERE l.meter = m.meter AND l.id > m.claimed_through),
                    (SELECT coalesce(sum(events), 0) FROM outbox_ranges r WHERE r.meter = m.meter AND r.settled_at IS NULL),
                    (SELECT count(*) FROM outbox_dead d WHERE d.meter = m.meter)
                FROM outbox_meters m
                """)
            while try perMeter.step() {
                logRows[perMeter.string(0)] = perMeter.int(1)
                rows[perMeter.string(0)] = StateCounts(pending: perMeter.int(2), inflight: perMeter.int(3), dead: perMeter.int(4))
            }
            let retries = try connection.prepare("SELECT meter, state, count(*) FROM outbox_retries GROUP BY meter, state")
            while try retries.step() {
                rows[retries.string(0), default: StateCounts()].count(retries.int(2), rawState: retries.int64(1))
            }
            // Every other event still in the log was sent.
            for (meter, total) in logRows {
                guard var counts = rows[meter] else { continue }
                counts.sent = total - counts.pending - counts.inflight - counts.failed - counts.dead
                rows[meter] = counts
            }
            // Events of a meter with no counters row at all.
            let orphans = try connection.prepare("SELECT meter, count(*) FROM outbox_log WHERE meter NOT IN (SELECT meter FROM outbox_meters) GROUP BY meter")
            while try orphans.step() { rows[orphans.string(0)] = StateCounts(pending: orphans.int(1)) }
            let structure = try Outbox.logStructure(connection)
            var integrity: [String] = []
            let check = try connection.prepare("PRAGMA quick_check")
            while try check.step() { integrity.append(check.string(0)) }
            return VerifyReport(counters: counters, rows: rows, structure: structure, integrity: integrity, purgedBeforeSplit: unsplit)
        }
    }

    /// The log's shape, checked row by row: what counters cannot see (an
    /// event hidden behind its meter's position, an exception row that lost
    /// its event, an open claim that miscounts its events).
    static func logStructure(_ connection: SQLiteConnection) throws -> LogStructure {
        var structure = LogStructure()
        func perMeter(_ sql: String, into keyPath: WritableKeyPath<LogStructure, [String: Int]>) throws {
            let statement = try connection.prepare(sql)
            while try statement.step() { structure[keyPath: keyPath][statement.string(0)] = statement.int(1) }
        }
        // The covering range of an event is the one starting at or before it.
        try perMeter(
            """
            SELECT l.meter, count(*) FROM outbox_log l JOIN outbox_meters m ON m.meter = l.meter
            WHERE l.id <= m.claimed_through
              AND coalesce((SELECT r.last_id FROM outbox_ranges r WHERE r.meter = l.meter AND r.first_id <= l.id
                            ORDER BY r.first_id DESC LIMIT 1), 0) < l.id
              AND NOT EXISTS (SELECT 1 FROM outbox_retries x WHERE x.id = l.id)
              AND NOT EXISTS (SELECT 1 FROM outbox_dead d WHERE d.id = l.id)
            GROUP BY l.meter
            """, into: \.unreachable)
        try perMeter(
            "SELECT d.meter, count(*) FROM outbox_dead d WHERE NOT EXISTS (SELECT 1 FROM outbox_log l WHERE l.id = d.id) GROUP BY d.meter",
            into: \.deadWithoutEvent)
        try perMeter(
            "SELECT x.meter, count(*) FROM outbox_retries x WHERE NOT EXISTS (SELECT 1 FROM outbox_log l WHERE l.id = x.id) GROUP BY x.meter",
            into: \.retriesWithoutEvent)
        try perMeter(
            """
            SELECT r.meter, count(*) FROM outbox_ranges r WHERE r.settled_at IS NULL
              AND r.events != (SELECT count(*) FROM outbox_log l WHERE l.meter = r.meter AND l.id BETWEEN r.first_id AND r.last_id)
            GROUP BY r.meter
            """, into: \.miscountedRanges)
        try perMeter(
            """
            SELECT l.meter, count(DISTINCT a.id) FROM outbox_answers a JOIN outbox_log l ON l.id = a.id
            WHERE NOT EXISTS (SELECT 1 FROM outbox_retries x WHERE x.id = a.id) AND NOT EXISTS (SELECT 1 FROM outbox_dead d WHERE d.id = a.id)
            GROUP BY l.meter
            """, into: \.sentWithHistory)
        return structure
    }
}
