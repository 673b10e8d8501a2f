/// Reconcile's reads and writes on SQLite: finding the sent events an audit
/// entry may name, and moving the late-rejected ones to dead.
extension Outbox {
    /// The state of a log event, derived: a dead letter or a retry row says
    /// its own; past the meter's position it is pending; inside an open
    /// range it is in flight; otherwise it was sent.
    static let derivedState = """
        CASE WHEN d.id IS NOT NULL THEN 4 WHEN r.id IS NOT NULL THEN r.state WHEN l.id > m.claimed_through THEN 0
             WHEN EXISTS (SELECT 1 FROM outbox_ranges o WHERE o.meter = l.meter AND o.settled_at IS NULL AND l.id BETWEEN o.first_id AND o.last_id) THEN 1
             ELSE 3 END
        """

    package func reconcileCandidates(_ query: ReconcileQuery) async throws -> [StoredEvent] {
        let ids = Outbox.jsonStrings(query.eventIDs)
        let customers = Outbox.jsonStrings(query.customers)
        // `$."field"`: the field name quoted, whatever it holds.
        let fieldPath = query.eventIdField.map { "$." + JSONValue.string($0).jsonText }
        return try await database.withConnection { connection in
            let statement = try connection.cached(
                """
                SELECT l.id, l.event_id, CAST(l.body AS TEXT), \(Outbox.derivedState) AS state
                FROM outbox_log l JOIN outbox_meters m ON m.meter = l.meter
                    LEFT JOIN outbox_dead d ON d.id = l.id LEFT JOIN outbox_retries r ON r.id = l.id
                WHERE l.meter = ?1 AND (
                    l.event_id IN (SELECT value FROM json_each(?2))
                    OR (?3 IS NOT NULL AND json_extract(CAST(l.body AS TEXT), ?3) IN (SELECT value FROM json_each(?2)))
                    OR json_extract(CAST(l.body AS TEXT), '$.CustomerId') IN (SELECT value FROM json_each(?4)))
                ORDER BY l.id
                """)
            defer { statement.reset() }
            try statement.bind(query.meter, at: 1)
            try statement.bind(ids, at: 2)
            try statement.bind(fieldPath, at: 3)
            try statement.bind(customers, at: 4)
            var events: [StoredEvent] = []
            while try statement.step() {
                guard let state = EventState(rawValue: statement.int64(3)), state == .sent || state == .dead else { continue }
                events.append(StoredEvent(rowID: statement.int64(0), eventID: statement.string(1), body: statement.string(2), state: state))
            }
            return events
        }
    }

    package func appliedAuditEntries(meter: String, traceIDs: [String]) async throws -> Set<String> {
        let ids = Outbox.jsonStrings(traceIDs)
        return try await database.withConnection { connection in
            let statement = try connection.cached(
                "SELECT trace_id FROM outbox_audit_applied WHERE meter = ?1 AND trace_id IN (SELECT value FROM json_each(?2))")
            defer { statement.reset() }
            try statement.bind(meter, at: 1)
            try statement.bind(ids, at: 2)
            var found = Set<String>()
            while try statement.step() { found.insert(statement.string(0)) }
            return found
        }
    }

    package func applyLateRejections(_ rejections: [LateRejection], meter: String, remember entries: [AppliedAuditEntry]) async throws -> Int {
        let clock = configuration.clock
        return try await database.write(isolated: false) { context in
            let connection = context.connection
            let now = clock.wallMilliseconds()
            var moved = 0
            // Only an event still sent becomes a dead letter.
            let stillSent = try connection.cached(
                """
                SELECT \(Outbox.derivedState) FROM outbox_log l JOIN outbox_meters m ON m.meter = l.meter
                    LEFT JOIN outbox_dead d ON d.id = l.id LEFT JOIN outbox_retries r ON r.id = l.id
                WHERE l.id = ?1 AND l.meter = ?2
                """)
            for rejection in rejections {
                try stillSent.bind(rejection.rowID, at: 1)
                try stillSent.bind(meter, at: 2)
                let sent = try stillSent.step() && stillSent.int64(0) == EventState.sent.rawValue
                stillSent.reset()
                guard sent else { continue }
                // Tried at least once: the request Zuora accepted (the
                // tries before it went with its retry row).
                try ExceptionRows.insertDead(
                    rejection.rowID, meter: meter, tries: 1, reason: rejection.reason,
                    record: Settlement.Record(responseBody: rejection.responseBody), now: now, on: connection)
                if connection.changes == 1 {
                    moved += 1
                    try AnswerRows.append(
                        [AnswerHistory.Entry(rowID: rejection.rowID, status: nil, requestID: nil, reason: rejection.reason)], now: now, on: connection)
                }
            }
            let remember = try connection.cached("INSERT OR IGNORE INTO outbox_audit_applied (meter, trace_id, event_id, applied_at) VALUES (?1, ?2, ?3, ?4)")
            for entry in entries {
                try remember.bind(meter, at: 1)
                try remember.bind(entry.traceID, at: 2)
                try remember.bind(entry.eventID, at: 3)
                try remember.bind(now, at: 4)
                try remember.run()
                remember.resetKeepingBindings()
            }
            remember.reset()
            if moved > 0 { context.adjust(meter) { $0.move(moved, from: .sent, to: .dead) } }
            try connection.execute(
                "UPDATE outbox_meters SET late_rejected = late_rejected + ?1, last_reconciled_at = ?2 WHERE meter = ?3",
                .integer(Int64(moved)), .integer(now), .text(meter))
            return moved
        }
    }

    /// Strings as a JSON array, for `json_each(?)`.
    static func jsonStrings(_ values: [String]) -> String {
        JSONValue.array(values.map { .string($0) }).jsonText
    }
}
