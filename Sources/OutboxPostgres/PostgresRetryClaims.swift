import Logging
import OutboxCore
import PostgresNIO

/// Claims of events that have rows of their own on PostgreSQL (waiting for
/// a retry, or put back by an operator): the job-table model, kept for the
/// exceptions only. Rows are locked with `FOR UPDATE SKIP LOCKED`, so
/// workers never take or wait on each other's; every write is fenced by the
/// claim's token.
enum PostgresRetryClaims {
    /// The advisory lock class under which claims of one meter's retry rows
    /// take turns ("rg").
    static let retryLockClass: Int32 = 0x7267
    static func claim(
        meter: String, token: ClaimToken, limit: Int, maxBytes: Int, leaseMilliseconds: Int64, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> (events: [ClaimedEvent], group: RetryGroup) {
        // One group per claim (`RetryGroup`), so that a re-send holds the
        // same events as the request it repeats, in the log's order. Claims
        // of a meter's retry rows take turns, and only while some are due:
        // two at once, each skipping the other's locked rows, would split a
        // group between them.
        var due = false
        for try await _ in try await connection.query(
            """
            SELECT pg_advisory_xact_lock(\(retryLockClass), hashtext(\(meter))) FROM outbox_retries
            WHERE meter = \(meter) AND due_at <= \(unescaped: PostgresOutbox.serverNow) LIMIT 1
            """, logger: logger
        ) {
            due = true
        }
        guard due, let group = try await firstDueGroup(meter: meter, on: connection, logger: logger) else { return ([], .free) }
        let inflight = Int16(EventState.inflight.rawValue)
        let selection: PostgresQuery
        let columns =
            "r.id, l.xact, l.event_id, l.body, r.attempts, r.state, r.key_seed, r.unanswered_key, r.tries FROM outbox_retries r JOIN outbox_log l ON l.id = r.id"
        switch group {
        case .lapsedClaim(let lapsed):
            // Plain FOR UPDATE (claims take turns under the lock): a row a
            // stalled owner is renewing is waited for, then re-checked, so
            // the group is never split by a skipped row.
            selection = """
                SELECT \(unescaped: columns) WHERE r.token = \(lapsed) AND r.state = \(inflight) AND r.meter = \(meter)
                  AND r.due_at <= \(unescaped: PostgresOutbox.serverNow)
                ORDER BY r.id LIMIT \(limit) FOR UPDATE OF r
                """
        case .unanswered(let key):
            // The whole group, due or not: its rows were written by one
            // settlement, whose statements may read the clock apart.
            selection = """
                SELECT \(unescaped: columns) WHERE r.unanswered_key = \(key) AND r.state <> \(inflight) AND r.meter = \(meter)
                ORDER BY r.id LIMIT \(limit) FOR UPDATE OF r
                """
        case .free:
            selection = """
                SELECT \(unescaped: columns) WHERE r.unanswered_key IS NULL AND r.state <> \(inflight) AND r.meter = \(meter)
                  AND r.due_at <= \(unescaped: PostgresOutbox.serverNow)
                ORDER BY r.due_at, r.id LIMIT \(limit) FOR UPDATE OF r SKIP LOCKED
                """
        }
        var taken: [(xact: Int64, event: ClaimedEvent)] = []
        var change = StateCounts()
        var cut = ClaimBudget(limit: limit, maxBytes: maxBytes).start()
        for try await (id, xact, eventID, body, attempts, state, keySeed, unansweredKey, tries) in try await connection.query(selection, logger: logger)
            .decode((Int64, Int64, String, String, Int32, Int16, Int64, String?, Int32).self)
        {
            // Past the budget, the rest of the rows are only read to the end.
            guard cut.take(eventBytes: body.utf8.count) else { continue }
            taken.append(
                (
                    xact,
                    ClaimedEvent(
                        rowID: id, eventID: eventID, body: Array(body.utf8), attempts: Int(attempts), keySeed: keySeed, unansweredKey: unansweredKey,
                        tries: Int(tries))
                ))
            // A row whose claim lapsed is inflight already.
            if let from = EventState(rawValue: Int64(state)), from != .inflight { change.move(1, from: from, to: .inflight) }
        }
        // In the log's order, the order a re-send repeats.
        let events = taken.sorted { ($0.xact, $0.event.rowID) < ($1.xact, $1.event.rowID) }.map(\.event)
        guard !events.isEmpty else { return ([], group) }
        try await connection.query(
            """
            UPDATE outbox_retries
            SET claimed_from = \(unescaped: RetryRowState.claimedFromOnClaimSQL), state = \(inflight), token = \(token.value),
                due_at = \(unescaped: PostgresOutbox.serverNow) + \(leaseMilliseconds), updated_at = \(unescaped: PostgresOutbox.serverNow)
            WHERE id = ANY(\(events.map(\.rowID)))
            """, logger: logger)
        try await PostgresOutbox.adjust(change, meter: meter, on: connection, logger: logger)
        return (events, group)
    }

    /// The group of the meter's first due row that still has its event.
    static func firstDueGroup(meter: String, on connection: PostgresConnection, logger: Logger) async throws -> RetryGroup? {
        for try await (state, token, unansweredKey) in try await connection.query(
            """
            SELECT r.state, r.token, r.unanswered_key FROM outbox_retries r JOIN outbox_log l ON l.id = r.id
            WHERE r.meter = \(meter) AND r.due_at <= \(unescaped: PostgresOutbox.serverNow) ORDER BY r.due_at, r.id LIMIT 1
            """, logger: logger
        ).decode((Int16, String?, String?).self) {
            guard let state = EventState(rawValue: Int64(state)) else { return nil }
            return RetryGroup.of(firstDue: state, token: token, unansweredKey: unansweredKey)
        }
        return nil
    }

    static func renew(
        _ rowIDs: [Int64], token: ClaimToken, leaseMilliseconds: Int64, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Set<Int64> {
        let inflight = Int16(EventState.inflight.rawValue)
        var held = Set<Int64>()
        for try await id in try await connection.query(
            """
            UPDATE outbox_retries SET due_at = \(unescaped: PostgresOutbox.serverNow) + \(leaseMilliseconds), updated_at = \(unescaped: PostgresOutbox.serverNow)
            WHERE id = ANY(\(rowIDs)) AND state = \(inflight) AND token = \(token.value)
            RETURNING id
            """, logger: logger
        ).decode(Int64.self) {
            held.insert(id)
        }
        return held
    }

    /// Applies each row's outcome while `token` still holds the row: a sent
    /// event's row goes, a retried one waits again, a dead one becomes a
    /// dead letter.
    static func settle(_ settlement: Settlement, token: ClaimToken, on connection: PostgresConnection, logger: Logger) async throws
        -> SettlementResult
    {
        let columns = PostgresSettlementColumns(settlement)
        let sent = columns.sentIDs
        let retryIDs = columns.retryIDs
        let deadIDs = columns.deadIDs
        let inflight = Int16(EventState.inflight.rawValue)
        let failed = Int16(EventState.failed.rawValue)
        let record = settlement.record
        var applied = Set<Int64>()
        if !sent.isEmpty {
            // Whether a sent event needs a range of its own depends on the
            // covering range retention may be deleting right now: wait for
            // it (the statements below then see what it committed).
            try await PostgresOutbox.lockMeterAgainstRetention(settlement.meter, on: connection, logger: logger)
            var sentNow: [Int64] = []
            for try await id in try await connection.query(
                "DELETE FROM outbox_retries WHERE id = ANY(\(sent)) AND state = \(inflight) AND token = \(token.value) RETURNING id", logger: logger
            ).decode(Int64.self) {
                sentNow.append(id)
            }
            applied.formUnion(sentNow)
            if !sentNow.isEmpty {
                try await keepWithinRetention(sentNow, on: connection, logger: logger)
                // Sent: its history goes.
                try await PostgresAnswerRows.delete(sentNow, on: connection, logger: logger)
            }
        }
        if !retryIDs.isEmpty {
            let newSeed = PostgresExceptionRows.newKeySeed(settlement.keys)
            let newKey = PostgresExceptionRows.unansweredKey(settlement.keys)
            for try await id in try await connection.query(
                """
                UPDATE outbox_retries AS r SET state = \(failed), attempts = p.attempts, due_at = c.now + p.delay, token = NULL,
                    last_status = \(record.status.map(Int32.init)), last_error = \(settlement.meterFailure), track_id = \(record.trackID), updated_at = c.now,
                    key_seed = coalesce(\(newSeed)::bigint, r.key_seed),
                    unanswered_key = CASE WHEN \(newSeed)::bigint IS NOT NULL THEN NULL ELSE coalesce(\(newKey)::text, r.unanswered_key) END,
                    tries = greatest(r.tries, p.tries)
                FROM unnest(\(retryIDs)::bigint[], \(columns.retryAttempts)::integer[], \(columns.retryDelays)::bigint[], \(columns.retryTries)::integer[])
                         AS p(id, attempts, delay, tries),
                     (SELECT \(unescaped: PostgresOutbox.serverNow) AS now) AS c
                WHERE r.id = p.id AND r.state = \(inflight) AND r.token = \(token.value)
                RETURNING r.id
                """, logger: logger
            ).decode(Int64.self) {
                applied.insert(id)
            }
        }
        if !deadIDs.isEmpty {
            var stored: [Int64: Int32] = [:]
            for try await (id, tries) in try await connection.query(
                "DELETE FROM outbox_retries WHERE id = ANY(\(deadIDs)) AND state = \(inflight) AND token = \(token.value) RETURNING id, tries", logger: logger
            ).decode((Int64, Int32).self) {
                stored[id] = tries
            }
            let chosen = deadIDs.indices.filter { stored[deadIDs[$0]] != nil }
            let written = try await PostgresExceptionRows.insertDead(
                chosen.map { deadIDs[$0] }, tries: chosen.map { max(stored[deadIDs[$0]] ?? 0, columns.deadTries[$0]) },
                reasons: chosen.map { columns.deadReasons[$0] }, record: record, on: connection, logger: logger)
            applied.formUnion(written)
        }
        let appliedRows = settlement.rows.filter { applied.contains($0.rowID) }
        // Retried or dead: this answer joins the event's history.
        try await PostgresAnswerRows.append(
            AnswerHistory.entries(of: settlement.restricted { applied.contains($0.rowID) }), on: connection, logger: logger)
        try await PostgresOutbox.adjust(
            settlement.counterChange(applied: appliedRows.map(\.rowID)), meter: settlement.meter, on: connection, logger: logger)
        return SettlementResult(appliedStates: appliedRows.map(\.outcome.state), planned: settlement.rows.count)
    }

    /// Events sent on a retry after retention deleted their range (a dead
    /// letter re-driven weeks later, an event from a schema-2 upgrade) would
    /// keep their log rows for ever: each gets a settled range of its own,
    /// which retention deletes in turn. The covering range, if any, is found
    /// by one backward seek from the event's key.
    static func keepWithinRetention(_ ids: [Int64], on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO outbox_ranges (meter, first_xact, first_id, last_xact, last_id, events, settled_at)
            SELECT l.meter, l.xact, l.id, l.xact, l.id, 1, \(unescaped: PostgresOutbox.serverNow)
            FROM outbox_log l
            WHERE l.id = ANY(\(ids))
              AND NOT coalesce((SELECT (r.last_xact, r.last_id) >= (l.xact, l.id) FROM outbox_ranges r
                                WHERE r.meter = l.meter AND (r.first_xact, r.first_id) <= (l.xact, l.id)
                                ORDER BY r.first_xact DESC, r.first_id DESC LIMIT 1), false)
            """, logger: logger)
    }

    static func release(_ rowIDs: [Int64], meter: String, token: ClaimToken, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let inflight = Int16(EventState.inflight.rawValue)
        var change = StateCounts()
        for try await state in try await connection.query(
            """
            UPDATE outbox_retries SET state = \(unescaped: RetryRowState.afterReleaseSQL), token = NULL,
                due_at = \(unescaped: PostgresOutbox.serverNow), updated_at = \(unescaped: PostgresOutbox.serverNow)
            WHERE id = ANY(\(rowIDs)) AND state = \(inflight) AND token = \(token.value)
            RETURNING state
            """, logger: logger
        ).decode(Int16.self) {
            change.move(1, from: .inflight, to: EventState(rawValue: Int64(state)) ?? .pending)
        }
        try await PostgresOutbox.adjust(change, meter: meter, on: connection, logger: logger)
        return change.pending + change.failed
    }
}
