import Logging
import OutboxCore
import PostgresNIO

/// Pausing meters and reconcile's reads and writes on PostgreSQL: the same
/// answers as the SQLite store.
extension PostgresOutbox {
    public func pauseMeter(_ meter: String, reason: String?) async throws {
        try await setPause(meter, paused: true, reason: reason)
    }

    public func resumeMeter(_ meter: String) async throws {
        try await setPause(meter, paused: false, reason: nil)
    }

    /// A meter is known once it has counters (its first append).
    private func setPause(_ meter: String, paused: Bool, reason: String?) async throws {
        try await transaction { connection in
            var known = false
            for try await exists in try await connection.query(
                "SELECT EXISTS (SELECT 1 FROM outbox_meter_counters WHERE meter = \(meter))", logger: logger
            ).decode(Bool.self) {
                known = exists
            }
            guard known else {
                throw OutboxError(
                    .unknownMeter, "no meter \(meter) in this outbox; nothing was changed",
                    hint: "see the meters with their counts in `outbox status`")
            }
            try await connection.query(
                """
                INSERT INTO outbox_meters (meter, paused, pause_reason, paused_at)
                VALUES (\(meter), \(paused), \(reason), CASE WHEN \(paused) THEN \(unescaped: Self.serverNow) END)
                ON CONFLICT (meter) DO UPDATE SET paused = excluded.paused, pause_reason = excluded.pause_reason, paused_at = excluded.paused_at
                """, logger: logger)
        }
    }

    public func reconcileCandidates(_ query: ReconcileQuery) async throws -> [StoredEvent] {
        let sent = Int16(EventState.sent.rawValue)
        let dead = Int16(EventState.dead.rawValue)
        let field = query.eventIdField ?? ""
        return try await read { connection in
            var events: [StoredEvent] = []
            for try await (id, eventID, body, state) in try await connection.query(
                """
                SELECT id, event_id, body, state FROM outbox_events
                WHERE meter = \(query.meter) AND state IN (\(sent), \(dead)) AND (
                    event_id = ANY(\(query.eventIDs))
                    OR (\(field) <> '' AND (body::jsonb ->> \(field)) = ANY(\(query.eventIDs)))
                    OR (body::jsonb ->> 'CustomerId') = ANY(\(query.customers)))
                ORDER BY id
                """, logger: logger
            ).decode((Int64, String, String, Int16).self) {
                events.append(StoredEvent(rowID: id, eventID: eventID, body: body, state: EventState(rawValue: Int64(state)) ?? .sent))
            }
            return events
        }
    }

    public func appliedAuditEntries(meter: String, traceIDs: [String]) async throws -> Set<String> {
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

    public func applyLateRejections(_ rejections: [LateRejection], meter: String, remember entries: [AppliedAuditEntry]) async throws -> Int {
        let sent = Int16(EventState.sent.rawValue)
        let dead = Int16(EventState.dead.rawValue)
        return try await transaction { connection in
            var moved = 0
            for try await _ in try await connection.query(
                """
                UPDATE outbox_events AS e SET state = \(dead), dead_at = c.now, updated_at = c.now, last_status = NULL,
                    last_error = r.reason, response_body = r.body
                FROM unnest(\(rejections.map(\.rowID))::bigint[], \(rejections.map(\.reason))::text[], \(rejections.map(\.responseBody))::text[])
                         AS r(id, reason, body),
                     (SELECT \(unescaped: Self.serverNow) AS now) AS c
                WHERE e.id = r.id AND e.meter = \(meter) AND e.state = \(sent)
                RETURNING e.id
                """, logger: logger
            ).decode(Int64.self) {
                moved += 1
            }
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
