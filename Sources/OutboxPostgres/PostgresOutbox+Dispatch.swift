import Logging
import OutboxCore
import PostgresNIO

/// `DispatchStore` on PostgreSQL. Claims lock the rows they take with
/// `FOR UPDATE SKIP LOCKED`, so workers on any number of hosts never take the
/// same event, and never wait on each other's claims; an inflight row's
/// `next_attempt_at` is its lease expiry, so a dead worker's rows come back
/// through the same index scan. Every time written here is the server's
/// (`serverNow`), so a host whose clock runs ahead cannot take over live
/// claims, and every write that acts on a claim is fenced by its token.
extension PostgresOutbox {
    /// The server's clock in unix milliseconds. `clock_timestamp()`, not
    /// `now()`: a transaction's start time would make a lease taken late in
    /// a long transaction shorter than asked.
    static let serverNow = "(extract(epoch from clock_timestamp()) * 1000)::bigint"

    public func metersWithWork() async throws -> [String] {
        try await read { connection in try await Self.metersWithWork(connection, logger: logger) }
    }

    static func metersWithWork(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var meters: [String] = []
        for try await meter in try await connection.query(
            """
            SELECT c.meter FROM outbox_meter_counters c
            WHERE NOT EXISTS (SELECT 1 FROM outbox_meters m WHERE m.meter = c.meter AND m.paused)
            GROUP BY c.meter HAVING sum(c.pending + c.inflight + c.failed) > 0 ORDER BY c.meter
            """, logger: logger
        ).decode(String.self) {
            meters.append(meter)
        }
        return meters
    }

    public func claim(meter: String, owner: String, limit: Int, maxBytes: Int, leaseMilliseconds: Int64) async throws -> Claim? {
        let token = ClaimToken.make(owner: owner)
        let inflight = Int16(EventState.inflight.rawValue)
        let events: [ClaimedEvent] = try await transaction { connection in
            // Lock the due rows in due order, skipping rows another worker
            // holds (each worker gets its own rows, nobody waits); cut them at
            // the byte budget (the first always goes); lease those. Rows
            // locked past the budget stay as they were, unlocked at commit.
            let rows = try await connection.query(
                """
                WITH clock AS (SELECT \(unescaped: Self.serverNow) AS now),
                locked AS (
                    SELECT id, state, next_attempt_at, octet_length(body) AS size FROM outbox_events
                    WHERE meter = \(meter) AND state < 3 AND next_attempt_at <= (SELECT now FROM clock)
                      AND NOT EXISTS (SELECT 1 FROM outbox_meters WHERE meter = \(meter) AND paused)
                    ORDER BY next_attempt_at, id
                    LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                ),
                chosen AS (
                    SELECT id, state FROM (
                        SELECT id, state,
                               sum(size + 1) OVER (ORDER BY next_attempt_at, id) AS array_bytes,
                               row_number() OVER (ORDER BY next_attempt_at, id) AS position
                        FROM locked
                    ) AS budget
                    WHERE array_bytes + 1 <= \(maxBytes) OR position = 1
                )
                UPDATE outbox_events e
                SET claimed_from = chosen.state, state = \(inflight), lease_owner = \(token.value),
                    next_attempt_at = (SELECT now FROM clock) + \(leaseMilliseconds), updated_at = (SELECT now FROM clock)
                FROM chosen WHERE e.id = chosen.id
                RETURNING e.id, e.event_id, e.body, e.attempts, chosen.state
                """, logger: logger)
            var events: [ClaimedEvent] = []
            var delta = StateCounts()
            for try await (id, eventID, body, attempts, state) in rows.decode((Int64, String, String, Int32, Int16).self) {
                events.append(ClaimedEvent(rowID: id, eventID: eventID, body: Array(body.utf8), attempts: Int(attempts)))
                if let from = EventState(rawValue: Int64(state)), from != .inflight { delta.move(1, from: from, to: .inflight) }
            }
            try await Self.adjust(delta, meter: meter, on: connection, logger: logger)
            return events
        }
        if events.isEmpty { return nil }
        return Claim(token: token, meter: meter, events: events, leaseMilliseconds: leaseMilliseconds)
    }

    public func renewLease(_ rowIDs: [Int64], token: ClaimToken, leaseMilliseconds: Int64) async throws -> Set<Int64> {
        let inflight = Int16(EventState.inflight.rawValue)
        return try await transaction { connection in
            var held = Set<Int64>()
            for try await id in try await connection.query(
                """
                UPDATE outbox_events SET next_attempt_at = \(unescaped: Self.serverNow) + \(leaseMilliseconds), updated_at = \(unescaped: Self.serverNow)
                WHERE id = ANY(\(rowIDs)) AND state = \(inflight) AND lease_owner = \(token.value)
                RETURNING id
                """, logger: logger
            ).decode(Int64.self) {
                held.insert(id)
            }
            return held
        }
    }

    /// One statement applies every row's outcome, unnested from arrays.
    /// Sent rows keep their attempts, last error and status.
    public func settle(_ settlement: Settlement, token: ClaimToken) async throws -> SettlementResult {
        var ids: [Int64] = []
        var states: [Int16] = []
        var attempts: [Int32] = []
        var delays: [Int64] = []
        var reasons: [String] = []
        for row in settlement.rows {
            ids.append(row.rowID)
            states.append(Int16(row.outcome.state.rawValue))
            switch row.outcome {
            case .sent:
                attempts.append(-1)
                delays.append(0)
                reasons.append("")
            case .retry(let delay, let spent):
                attempts.append(Int32(clamping: spent))
                delays.append(delay)
                reasons.append(settlement.meterFailure ?? "")
            case .dead(let reason, let spent):
                attempts.append(Int32(clamping: spent))
                delays.append(0)
                reasons.append(reason)
            }
        }
        let sent = Int16(EventState.sent.rawValue)
        let dead = Int16(EventState.dead.rawValue)
        let inflight = Int16(EventState.inflight.rawValue)
        let record = settlement.record
        let status = record.status.map(Int32.init)
        return try await transaction { connection in
            var applied: [Int64] = []
            var appliedStates: [EventState] = []
            for try await (id, state) in try await connection.query(
                """
                UPDATE outbox_events AS e SET
                    state = p.state,
                    attempts = CASE WHEN p.attempts < 0 THEN e.attempts ELSE p.attempts END,
                    next_attempt_at = c.now + p.delay,
                    lease_owner = NULL,
                    updated_at = c.now,
                    sent_at = CASE WHEN p.state = \(sent) THEN c.now ELSE NULL END,
                    dead_at = CASE WHEN p.state = \(dead) THEN c.now ELSE NULL END,
                    last_error = CASE WHEN p.state = \(sent) THEN e.last_error ELSE p.reason END,
                    last_status = CASE WHEN p.state = \(sent) THEN e.last_status ELSE \(status) END,
                    response_body = CASE WHEN p.state = \(dead) THEN \(record.responseBody) ELSE NULL END,
                    track_id = CASE WHEN p.state = \(sent) THEN e.track_id ELSE \(record.trackID) END
                FROM unnest(\(ids)::bigint[], \(states)::smallint[], \(attempts)::integer[], \(delays)::bigint[], \(reasons)::text[])
                         AS p(id, state, attempts, delay, reason),
                     (SELECT \(unescaped: Self.serverNow) AS now) AS c
                WHERE e.id = p.id AND e.state = \(inflight) AND e.lease_owner = \(token.value)
                RETURNING e.id, e.state
                """, logger: logger
            ).decode((Int64, Int16).self) {
                applied.append(id)
                appliedStates.append(EventState(rawValue: Int64(state)) ?? .inflight)
            }
            try await Self.adjust(settlement.counterChange(applied: applied), meter: settlement.meter, on: connection, logger: logger)
            if settlement.isSuccess {
                try await connection.query(
                    """
                    INSERT INTO outbox_meters (meter, last_success_at) VALUES (\(settlement.meter), \(unescaped: Self.serverNow))
                    ON CONFLICT (meter) DO UPDATE SET last_success_at = excluded.last_success_at
                    """, logger: logger)
            } else if let failure = settlement.meterFailure {
                try await connection.query(
                    """
                    INSERT INTO outbox_meters (meter, last_status, last_error, last_error_at)
                    VALUES (\(settlement.meter), \(status), \(failure), \(unescaped: Self.serverNow))
                    ON CONFLICT (meter) DO UPDATE SET last_status = excluded.last_status, last_error = excluded.last_error,
                        last_error_at = excluded.last_error_at
                    """, logger: logger)
            }
            return SettlementResult(appliedStates: appliedStates, planned: settlement.rows.count)
        }
    }

    public func release(_ rowIDs: [Int64], meter: String, token: ClaimToken) async throws -> Int {
        let failed = Int16(EventState.failed.rawValue)
        let pending = Int16(EventState.pending.rawValue)
        let inflight = Int16(EventState.inflight.rawValue)
        return try await transaction { connection in
            var delta = StateCounts()
            for try await state in try await connection.query(
                """
                UPDATE outbox_events SET state = CASE claimed_from WHEN \(failed) THEN \(failed) ELSE \(pending) END, lease_owner = NULL,
                    next_attempt_at = \(unescaped: Self.serverNow), updated_at = \(unescaped: Self.serverNow)
                WHERE id = ANY(\(rowIDs)) AND state = \(inflight) AND lease_owner = \(token.value)
                RETURNING state
                """, logger: logger
            ).decode(Int16.self) {
                delta.move(1, from: .inflight, to: state == failed ? .failed : .pending)
            }
            try await Self.adjust(delta, meter: meter, on: connection, logger: logger)
            return delta.pending + delta.failed
        }
    }

    public func nextDueDelay() async throws -> Int64? {
        let meters = try await metersWithWork()
        return try await read { connection in
            var earliest: Int64?
            for meter in meters {
                // One index seek per meter (meter leads the due index).
                for try await delay in try await connection.query(
                    "SELECT min(next_attempt_at) - \(unescaped: Self.serverNow) FROM outbox_events WHERE meter = \(meter) AND state < 3", logger: logger
                ).decode(Int64?.self) {
                    if let delay { earliest = min(earliest ?? delay, delay) }
                }
            }
            return earliest
        }
    }

    public func undeliveredCount() async throws -> Int {
        try await backlog(paused: false)
    }

    public func pausedCount() async throws -> Int {
        try await backlog(paused: true)
    }

    private func backlog(paused: Bool) async throws -> Int {
        try await read { connection in
            for try await count in try await connection.query(
                """
                SELECT coalesce(sum(c.pending + c.inflight + c.failed), 0)::bigint FROM outbox_meter_counters c
                WHERE coalesce((SELECT m.paused FROM outbox_meters m WHERE m.meter = c.meter), false) = \(paused)
                """, logger: logger
            ).decode(Int64.self) {
                return Int(count)
            }
            return 0
        }
    }
}
