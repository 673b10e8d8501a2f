import Logging
import OutboxCore
import PostgresNIO

/// Dead letters on PostgreSQL: listed and selected, found by id or prefix,
/// retried and purged (counted by cause in `PostgresOutbox+DeadLetterCauses`);
/// the same answers as the SQLite store.
extension PostgresOutbox {
    public func deadLetters(meter: String?, deadBefore: Int64?, limit: Int) async throws -> [DeadLetter] {
        try await deadLetters(DeadLetterFilter(meter: meter, deadBefore: deadBefore), limit: limit, withHistory: false)
    }

    public func deadLetters(_ filter: DeadLetterFilter, limit: Int, withHistory: Bool) async throws -> [DeadLetter] {
        let query = Self.deadLetterQuery(
            "SELECT \(Self.deadLetterColumns)", filter, then: "ORDER BY d.dead_at DESC, d.id DESC", limit: Int64(min(limit, Int(Int64.max))))
        return try await read { connection in
            let letters = try await Self.letters(try await connection.query(query, logger: logger))
            return try await Self.withHistories(letters, withHistory, on: connection, logger: logger)
        }
    }

    /// A query over `outbox_dead d` (and what the code-defined `head` joins
    /// to it) with the conditions of `filter` bound as parameters, then the
    /// code-defined `tail`, then the limit (none when nil: `LIMIT NULL`).
    static func deadLetterQuery(_ head: String, _ filter: DeadLetterFilter, then tail: String, limit: Int64? = nil) -> PostgresQuery {
        let status = filter.status.map(Int32.init)
        return """
            \(unescaped: head)
            WHERE (\(filter.meter)::text IS NULL OR d.meter = \(filter.meter))
              AND (\(filter.deadBefore)::bigint IS NULL OR d.dead_at < \(filter.deadBefore))
              AND (\(filter.deadSince)::bigint IS NULL OR d.dead_at >= \(filter.deadSince))
              AND (\(status)::integer IS NULL OR d.last_status = \(status))
              AND (\(filter.reasonNeedle)::text IS NULL OR strpos(\(unescaped: asciiLower("d.reason")), \(filter.reasonNeedle)) > 0)
            \(unescaped: tail) LIMIT \(limit)::bigint
            """
    }

    public func deadLetter(id: String) async throws -> DeadLetter? {
        try await read { connection in
            let letters = try await Self.letters(
                try await connection.query(
                    """
                    SELECT \(unescaped: Self.deadLetterColumns) WHERE d.event_id = \(id)
                    """, logger: logger))
            return try await Self.withHistories(Array(letters.prefix(1)), true, on: connection, logger: logger).first
        }
    }

    public func deadLetterIDs(startingWith prefix: String, meter: String?, limit: Int) async throws -> [String] {
        try await read { connection in
            var ids: [String] = []
            // A scan of the dead letters (not of the log): there are few,
            // and it runs once per command. Byte order, as SQLite's.
            for try await id in try await connection.query(
                """
                SELECT event_id FROM outbox_dead
                WHERE left(event_id, length(\(prefix))) = \(prefix) AND (\(meter)::text IS NULL OR meter = \(meter))
                ORDER BY event_id COLLATE "C" LIMIT \(Int64(limit))
                """, logger: logger
            ).decode(String.self) {
                ids.append(id)
            }
            return ids
        }
    }

    /// `column` with its ASCII letters in lower case, and nothing else
    /// changed: what SQLite's lower() does, whatever the database's locale.
    static func asciiLower(_ column: String) -> String {
        "translate(\(column), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
    }

    /// A dead letter's columns: its row in `outbox_dead`, the event's text
    /// and creation time from the log; last, the row's id.
    static let deadLetterColumns = """
        d.event_id, d.meter, l.body, d.last_status, d.reason, d.attempts, d.response_body, d.track_id,
        l.created_at, d.updated_at, d.dead_at, d.request_id, d.id
        FROM outbox_dead d JOIN outbox_log l ON l.id = d.id
        """

    static func letters(_ rows: PostgresRowSequence) async throws -> [(row: Int64, letter: DeadLetter)] {
        var letters: [(row: Int64, letter: DeadLetter)] = []
        for try await (id, meter, body, status, reason, attempts, response, track, created, updated, dead, request, row) in rows.decode(
            (String, String, String, Int32?, String, Int32, String?, String?, Int64, Int64, Int64, String?, Int64).self)
        {
            letters.append(
                (
                    row,
                    DeadLetter(
                        id: id, meter: meter, event: body, status: status.map(Int.init), reason: reason, attempts: Int(attempts),
                        responseBody: response, trackID: track, createdAt: created, updatedAt: updated, deadAt: dead, requestID: request)
                ))
        }
        return letters
    }

    /// The letters, with their histories filled in when `wanted`.
    static func withHistories(
        _ letters: [(row: Int64, letter: DeadLetter)], _ wanted: Bool, on connection: PostgresConnection, logger: Logger
    ) async throws -> [DeadLetter] {
        guard wanted else { return letters.map(\.letter) }
        let histories = try await PostgresAnswerRows.of(letters.map(\.row), on: connection, logger: logger)
        return letters.map { found in
            var letter = found.letter
            letter.history = histories[found.row] ?? []
            return letter
        }
    }

    public func retryDeadLetters(_ selection: DeadLetterSelection) async throws -> Int {
        try await changeDeadLetters(selection) { connection, rowIDs in
            var byMeter: [String: Int] = [:]
            // Back among the events waiting to be sent, as a retry row of its
            // own: the event's place in the log has long been handed out.
            // Zuora answered the event before: a fresh key seed, so its next
            // request is not answered from Zuora's memory of an earlier one.
            // Fresh attempts for the retry limit; the tries go on counting.
            let pending = Int16(EventState.pending.rawValue)
            for try await meter in try await connection.query(
                """
                WITH revived AS (DELETE FROM outbox_dead WHERE id = ANY(\(rowIDs)) RETURNING id, meter, attempts)
                INSERT INTO outbox_retries (id, meter, state, attempts, due_at, updated_at, key_seed, tries)
                SELECT id, meter, \(pending), 0, c.now, c.now, \(unescaped: PostgresExceptionRows.randomKeySeed), attempts
                FROM revived, (SELECT \(unescaped: Self.serverNow) AS now) AS c
                RETURNING meter
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
                """
                WITH gone AS (DELETE FROM outbox_dead WHERE id = ANY(\(rowIDs)) RETURNING id, meter),
                     history AS (DELETE FROM outbox_answers a USING gone WHERE a.id = gone.id)
                DELETE FROM outbox_log l USING gone WHERE l.id = gone.id RETURNING gone.meter
                """,
                logger: self.logger
            ).decode(String.self) {
                byMeter[meter, default: 0] += 1
            }
            return byMeter.mapValues { StateCounts(dead: -$0, purged: $0, purgedDead: $0) }
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
                    "SELECT id, event_id, meter FROM outbox_dead WHERE event_id = ANY(\(lookup.wantedIDs)) FOR UPDATE", logger: logger
                ).decode((Int64, String, String).self) {
                    lookup.found(id: eventID, row: row, meter: meter)
                }
                rowIDs = try lookup.rowsByMeter().values.flatMap { $0 }
            } else {
                for try await row in try await connection.query(
                    """
                    SELECT id FROM outbox_dead WHERE (\(selection.meter)::text IS NULL OR meter = \(selection.meter))
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
}
