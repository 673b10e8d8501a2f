import Logging
import OutboxCore
import PostgresNIO

/// Reconcile's reads and writes on PostgreSQL: the same answers as the
/// SQLite store.
extension PostgresOutbox {
    /// The state of a log event `l`, derived: a dead letter or a retry row
    /// says its own; past the meter's position it is pending; inside an open
    /// range it is in flight; otherwise it was sent.
    static let derivedState = """
        CASE WHEN d.id IS NOT NULL THEN 4 WHEN r.id IS NOT NULL THEN r.state
             WHEN (l.xact, l.id) > (coalesce(o.claimed_xact, 0), coalesce(o.claimed_id, 0)) THEN 0
             WHEN EXISTS (SELECT 1 FROM outbox_ranges g WHERE g.meter = l.meter AND g.settled_at IS NULL
                          AND (l.xact, l.id) >= (g.first_xact, g.first_id) AND (l.xact, l.id) <= (g.last_xact, g.last_id)) THEN 1
             ELSE 3 END
        FROM outbox_log l LEFT JOIN outbox_positions o ON o.meter = l.meter
            LEFT JOIN outbox_dead d ON d.id = l.id LEFT JOIN outbox_retries r ON r.id = l.id
        """

    package func reconcileCandidates(_ query: ReconcileQuery) async throws -> [StoredEvent] {
        let field = query.eventIdField ?? ""
        return try await read { connection in
            var events: [StoredEvent] = []
            for try await (id, eventID, body, rawState) in try await connection.query(
                """
                SELECT l.id, l.event_id, l.body, \(unescaped: Self.derivedState)
                WHERE l.meter = \(query.meter) AND (
                    l.event_id = ANY(\(query.eventIDs))
                    OR (\(field) <> '' AND (l.body::jsonb ->> \(field)) = ANY(\(query.eventIDs)))
                    OR (l.body::jsonb ->> 'CustomerId') = ANY(\(query.customers)))
                ORDER BY l.id
                """, logger: logger
            ).decode((Int64, String, String, Int32).self) {
                guard let state = EventState(rawValue: Int64(rawState)), state == .sent || state == .dead else { continue }
                events.append(StoredEvent(rowID: id, eventID: eventID, body: body, state: state))
            }
            return events
        }
    }

    package func appliedAuditEntries(meter: String, traceIDs: [String]) async throws -> Set<String> {
        try await read { connection in
            var found = Set<String>()
            for try await traceID in try await connection.query(
                "SELECT trace_id FROM outbox_audit_applied WHERE meter = \(meter) AND trace_id = ANY(\(traceIDs))", logger: logger
            ).decode(String.self) {
                found.insert(traceID)
            }
            return found
        }
    }

    package func applyLateRejections(_ rejections: [LateRejection], meter: String, remember entries: [AppliedAuditEntry]) async throws -> Int {
        try await transaction { connection in
            // Retention must not delete these events between the look below
            // and the dead rows written after it.
            try await Self.lockMeterAgainstRetention(meter, on: connection, logger: logger)
            // Only an event still sent becomes a dead letter.
            var stillSent: [Int64] = []
            for try await (id, rawState) in try await connection.query(
                """
                SELECT l.id, \(unescaped: Self.derivedState)
                WHERE l.id = ANY(\(rejections.map(\.rowID))) AND l.meter = \(meter)
                """, logger: logger
            ).decode((Int64, Int32).self) {
                if Int64(rawState) == EventState.sent.rawValue { stillSent.append(id) }
            }
            var seen = Set<Int64>()
            let chosen = rejections.filter { stillSent.contains($0.rowID) && seen.insert($0.rowID).inserted }
            // Tried at least once: the request Zuora accepted (the tries
            // before it went with its retry row).
            let written = try await PostgresExceptionRows.insertDead(
                chosen.map(\.rowID), tries: chosen.map { _ in 1 }, reasons: chosen.map(\.reason), responseBodies: chosen.map(\.responseBody),
                record: Settlement.Record(), on: connection, logger: logger
            )
            let moved = written.count
            let movedIDs = Set(written)
            try await PostgresAnswerRows.append(
                chosen.filter { movedIDs.contains($0.rowID) }.map { AnswerHistory.Entry(rowID: $0.rowID, status: nil, requestID: nil, reason: $0.reason) },
                on: connection, logger: logger)
            try await connection.query(
                """
                INSERT INTO outbox_audit_applied (meter, trace_id, event_id, applied_at)
                SELECT \(meter), t, e, \(unescaped: Self.serverNow) FROM unnest(\(entries.map(\.traceID))::text[], \(entries.map(\.eventID))::text[]) AS u(t, e)
                ON CONFLICT DO NOTHING
                """, logger: logger)
            var delta = StateCounts()
            delta.move(moved, from: .sent, to: .dead)
            try await Self.adjust(delta, meter: meter, on: connection, logger: logger)
            try await connection.query(
                """
                INSERT INTO outbox_meters (meter, late_rejected, last_reconciled_at) VALUES (\(meter), \(Int64(moved)), \(unescaped: Self.serverNow))
                ON CONFLICT (meter) DO UPDATE SET late_rejected = outbox_meters.late_rejected + excluded.late_rejected,
                    last_reconciled_at = excluded.last_reconciled_at
                """, logger: logger)
            return moved
        }
    }
}
