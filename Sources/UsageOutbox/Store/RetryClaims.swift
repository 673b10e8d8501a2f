/// Claims of events that have rows of their own on SQLite (waiting for a
/// retry, or put back by an operator): the job-table model, kept for the
/// exceptions only. Each row is claimed, renewed and settled under the
/// claim's token.
///
/// A claim takes one group of rows (`RetryGroup`), so that a re-send holds
/// the same events as the request it repeats, in the same (the log's) order.
enum RetryClaims {
    static func claim(
        meter: String, token: ClaimToken, limit: Int, maxBytes: Int, leaseUntil: Int64, now: Int64,
        context: WriteContext
    ) throws -> (events: [ClaimedEvent], group: RetryGroup) {
        let connection = context.connection
        guard let group = try firstDueGroup(meter: meter, now: now, on: connection) else { return ([], .free) }
        let inflight = EventState.inflight.rawValue
        let columns =
            "r.id, l.event_id, l.body, r.attempts, r.state, r.key_seed, r.unanswered_key, r.tries FROM outbox_retries r JOIN outbox_log l ON l.id = r.id"
        let due: SQLiteStatement
        switch group {
        case .lapsedClaim(let lapsed):
            due = try connection.cached(
                "SELECT \(columns) WHERE r.token = ?1 AND r.state = ?2 AND r.due_at <= ?3 AND r.meter = ?4 ORDER BY r.id LIMIT ?5")
            try due.bind(lapsed, at: 1)
        case .unanswered(let key):
            due = try connection.cached(
                // The whole group, due or not (its rows were written together).
                "SELECT \(columns) WHERE r.unanswered_key = ?1 AND r.state <> ?2 AND r.meter = ?4 ORDER BY r.id LIMIT ?5")
            try due.bind(key, at: 1)
        case .free:
            due = try connection.cached(
                """
                SELECT \(columns) WHERE r.unanswered_key IS NULL AND r.state <> ?2 AND r.due_at <= ?3 AND r.meter = ?4
                ORDER BY r.due_at, r.id LIMIT ?5
                """)
            break  // no ?1
        }
        defer { due.reset() }
        try due.bind(inflight, at: 2)
        try due.bind(now, at: 3)
        try due.bind(meter, at: 4)
        try due.bind(limit, at: 5)
        var events: [ClaimedEvent] = []
        var change = StateCounts()
        var cut = ClaimBudget(limit: limit, maxBytes: maxBytes).start()
        while try due.step(), cut.take(eventBytes: due.withBytes(2) { $0.count }) {
            events.append(
                ClaimedEvent(
                    rowID: due.int64(0), eventID: due.string(1), body: due.bytes(2), attempts: due.int(3), keySeed: due.int64(5),
                    unansweredKey: due.isNull(6) ? nil : due.string(6), tries: due.int(7)))
            // A row whose claim lapsed is inflight already.
            if let state = EventState(rawValue: due.int64(4)), state != .inflight { change.move(1, from: state, to: .inflight) }
        }
        due.reset()
        guard !events.isEmpty else { return ([], group) }
        // In the log's order, the order a re-send repeats.
        events.sort { $0.rowID < $1.rowID }
        try connection.execute(
            """
            UPDATE outbox_retries
            SET claimed_from = \(RetryRowState.claimedFromOnClaimSQL), state = ?1, token = ?2, due_at = ?3, updated_at = ?4
            WHERE id IN (SELECT value FROM json_each(?5))
            """, .integer(EventState.inflight.rawValue), .text(token.value), .integer(leaseUntil), .integer(now),
            .text(Outbox.jsonArray(events.map(\.rowID))))
        context.adjust(meter) { $0 += change }
        return (events, group)
    }

    /// The group of the meter's first due row that still has its event.
    static func firstDueGroup(meter: String, now: Int64, on connection: SQLiteConnection) throws -> RetryGroup? {
        let first = try connection.cached(
            """
            SELECT r.state, r.token, r.unanswered_key FROM outbox_retries r JOIN outbox_log l ON l.id = r.id
            WHERE r.meter = ?1 AND r.due_at <= ?2 ORDER BY r.due_at, r.id LIMIT 1
            """)
        defer { first.reset() }
        try first.bind(meter, at: 1)
        try first.bind(now, at: 2)
        guard try first.step(), let state = EventState(rawValue: first.int64(0)) else { return nil }
        return RetryGroup.of(
            firstDue: state, token: first.isNull(1) ? nil : first.string(1), unansweredKey: first.isNull(2) ? nil : first.string(2))
    }

    static func renew(_ rowIDs: [Int64], token: ClaimToken, leaseUntil: Int64, now: Int64, on connection: SQLiteConnection) throws -> Set<Int64> {
        let statement = try connection.cached(
            """
            UPDATE outbox_retries SET due_at = ?1, updated_at = ?2
            WHERE id IN (SELECT value FROM json_each(?3)) AND state = ?4 AND token = ?5
            RETURNING id
            """)
        defer { statement.reset() }
        try statement.bind(leaseUntil, at: 1)
        try statement.bind(now, at: 2)
        try statement.bind(Outbox.jsonArray(rowIDs), at: 3)
        try statement.bind(EventState.inflight.rawValue, at: 4)
        try statement.bind(token.value, at: 5)
        var held = Set<Int64>()
        while try statement.step() { held.insert(statement.int64(0)) }
        return held
    }

    /// Applies each row's outcome while `token` still holds the row: a sent
    /// event's row goes, a retried one waits again, a dead one becomes a
    /// dead letter.
    static func settle(_ settlement: Settlement, token: ClaimToken, now: Int64, context: WriteContext) throws -> SettlementResult {
        let connection = context.connection
        let held = "id = ?1 AND state = ?2 AND token = ?3"
        let inflight = SQLiteValue.integer(EventState.inflight.rawValue)
        var applied: [Int64] = []
        var sent: [Int64] = []
        var states: [EventState] = []
        for row in settlement.rows {
            let id = SQLiteValue.integer(row.rowID)
            let wasHeld: Bool
            switch row.outcome {
            case .sent:
                try connection.execute("DELETE FROM outbox_retries WHERE \(held)", id, inflight, .text(token.value))
                wasHeld = connection.changes == 1
                if wasHeld {
                    try keepWithinRetention(row.rowID, meter: settlement.meter, now: now, on: connection)
                    sent.append(row.rowID)
                }
            case .retry(let delay, let attempts):
                try connection.execute(
                    """
                    UPDATE outbox_retries SET state = ?4, attempts = ?5, due_at = ?6, token = NULL, last_status = ?7, last_error = ?8,
                        track_id = ?9, updated_at = ?10, key_seed = coalesce(?11, key_seed),
                        unanswered_key = CASE WHEN ?11 IS NOT NULL THEN NULL ELSE coalesce(?12, unanswered_key) END, tries = max(tries, ?13)
                    WHERE \(held)
                    """, id, inflight, .text(token.value), .integer(EventState.failed.rawValue), .integer(Int64(attempts)), .integer(now + delay),
                    ExceptionRows.status(settlement.record), ExceptionRows.text(settlement.meterFailure), ExceptionRows.text(settlement.record.trackID),
                    .integer(now), ExceptionRows.newKeySeed(settlement.keys), ExceptionRows.unansweredKey(settlement.keys), .integer(Int64(row.tries)))
                wasHeld = connection.changes == 1
            case .dead(let reason, _):
                guard
                    let stored = try connection.scalarInt("SELECT tries FROM outbox_retries WHERE \(held)", id, inflight, .text(token.value))
                else { continue }
                try ExceptionRows.insertDead(
                    row.rowID, meter: settlement.meter, tries: max(Int(stored), row.tries), reason: reason, record: settlement.record, now: now,
                    on: connection)
                try connection.execute("DELETE FROM outbox_retries WHERE \(held)", id, inflight, .text(token.value))
                wasHeld = connection.changes == 1
            }
            if wasHeld {
                applied.append(row.rowID)
                states.append(row.outcome.state)
            }
        }
        // Sent: its history goes. Retried or dead: this answer joins it.
        try AnswerRows.delete(sent, on: connection)
        let stillHeld = Set(applied)
        try AnswerRows.append(AnswerHistory.entries(of: settlement.restricted { stillHeld.contains($0.rowID) }), now: now, on: connection)
        let change = settlement.counterChange(applied: applied)
        if !change.isZero { context.adjust(settlement.meter) { $0 += change } }
        return SettlementResult(appliedStates: states, planned: settlement.rows.count)
    }

    /// An event sent on a retry after retention deleted its range (a dead
    /// letter re-driven weeks later, an event from a schema-2 upgrade)
    /// would keep its log row for ever: it gets a settled range of its own,
    /// which retention deletes in turn.
    static func keepWithinRetention(_ id: Int64, meter: String, now: Int64, on connection: SQLiteConnection) throws {
        try connection.execute(
            """
            INSERT INTO outbox_ranges (meter, first_id, last_id, events, settled_at)
            SELECT ?1, ?2, ?2, 1, ?3
            WHERE coalesce((SELECT last_id >= ?2 FROM outbox_ranges WHERE meter = ?1 AND first_id <= ?2 ORDER BY first_id DESC LIMIT 1), 0) = 0
            """, .text(meter), .integer(id), .integer(now))
    }

    static func release(_ rowIDs: [Int64], meter: String, token: ClaimToken, now: Int64, context: WriteContext) throws -> Int {
        let statement = try context.connection.cached(
            """
            UPDATE outbox_retries
            SET state = \(RetryRowState.afterReleaseSQL), token = NULL, due_at = ?1, updated_at = ?1
            WHERE id IN (SELECT value FROM json_each(?2)) AND state = ?4 AND token = ?3
            RETURNING state
            """)
        defer { statement.reset() }
        try statement.bind(now, at: 1)
        try statement.bind(Outbox.jsonArray(rowIDs), at: 2)
        try statement.bind(token.value, at: 3)
        try statement.bind(EventState.inflight.rawValue, at: 4)
        var change = StateCounts()
        while try statement.step() {
            change.move(1, from: .inflight, to: EventState(rawValue: statement.int64(0)) ?? .pending)
        }
        context.adjust(meter) { $0 += change }
        return change.pending + change.failed
    }
}
