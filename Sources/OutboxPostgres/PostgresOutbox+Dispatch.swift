import Logging
import PostgresNIO
import UsageOutbox

/// `DispatchStore` on PostgreSQL. Claims lock the rows they take with
/// `FOR UPDATE SKIP LOCKED`, so workers on any number of hosts never take the
/// same event, and never wait on each other's claims; an inflight row's
/// `next_attempt_at` is its lease expiry, so a dead worker's rows come back
/// through the same index scan.
extension PostgresOutbox {
    public func metersWithWork() async throws -> [String] {
        try await read { connection in try await Self.metersWithWork(connection, logger: logger) }
    }

    static func metersWithWork(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var meters: [String] = []
        for try await meter in try await connection.query("""
            SELECT meter FROM outbox_meter_counters GROUP BY meter
            HAVING sum(pending + inflight + failed) > 0 ORDER BY meter
            """, logger: logger).decode(String.self) {
            meters.append(meter)
        }
        return meters
    }

    public func hasDueEvents(now: Int64) async throws -> Bool {
        try await read { connection in
            for meter in try await Self.metersWithWork(connection, logger: logger) {
                for try await due in try await connection.query(
                    "SELECT EXISTS (SELECT 1 FROM outbox_events WHERE meter = \(meter) AND state < 3 AND next_attempt_at <= \(now))", logger: logger
                ).decode(Bool.self) where due {
                    return true
                }
            }
            return false
        }
    }

    public func claim(meter: String, owner: String, limit: Int, maxBytes: Int, leaseUntil: Int64, now: Int64) async throws -> [ClaimedEvent] {
        try await transaction { connection in
            // Lock the due rows in due order, skipping rows another worker
            // holds (each worker gets its own rows, nobody waits); cut them at
            // the byte budget (the first always goes); lease those. Rows
            // locked past the budget stay as they were, unlocked at commit.
            let rows = try await connection.query("""
                WITH locked AS (
                    SELECT id, state, next_attempt_at, octet_length(body) AS size FROM outbox_events
                    WHERE meter = \(meter) AND state < 3 AND next_attempt_at <= \(now)
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
                SET claimed_from = chosen.state, state = 1, lease_owner = \(owner), next_attempt_at = \(leaseUntil), updated_at = \(now)
                FROM chosen WHERE e.id = chosen.id
                RETURNING e.id, e.event_id, e.body, e.attempts, chosen.state
                """, logger: logger)
            var events: [ClaimedEvent] = []
            var fromPending = 0
            var fromFailed = 0
            for try await (id, eventID, body, attempts, state) in rows.decode((Int64, String, String, Int32, Int16).self) {
                events.append(ClaimedEvent(rowID: id, eventID: eventID, body: Array(body.utf8), attempts: Int(attempts)))
                if state == 0 { fromPending += 1 } else if state == 2 { fromFailed += 1 }
            }
            var delta = StateCounts()
            delta.move(fromPending, from: .pending, to: .inflight)
            delta.move(fromFailed, from: .failed, to: .inflight)
            try await Self.adjust(delta, meter: meter, on: connection, logger: logger)
            return events
        }
    }

    public func renewLease(_ rowIDs: [Int64], owner: String, until: Int64, now: Int64) async throws -> Set<Int64> {
        try await transaction { connection in
            var held = Set<Int64>()
            for try await id in try await connection.query("""
                UPDATE outbox_events SET next_attempt_at = \(until), updated_at = \(now)
                WHERE id = ANY(\(rowIDs)) AND state = 1 AND lease_owner = \(owner)
                RETURNING id
                """, logger: logger).decode(Int64.self) {
                held.insert(id)
            }
            return held
        }
    }

    public func markSent(_ rowIDs: [Int64], meter: String, owner: String, status: Int, trackID: String, now: Int64) async throws -> Int {
        try await transaction { connection in
            var changed = 0
            for try await _ in try await connection.query("""
                UPDATE outbox_events SET state = 3, lease_owner = NULL, sent_at = \(now), updated_at = \(now)
                WHERE id = ANY(\(rowIDs)) AND state = 1 AND lease_owner = \(owner)
                RETURNING id
                """, logger: logger).decode(Int64.self) {
                changed += 1
            }
            var delta = StateCounts()
            delta.move(changed, from: .inflight, to: .sent)
            try await Self.adjust(delta, meter: meter, on: connection, logger: logger)
            try await connection.query("""
                INSERT INTO outbox_meters (meter, last_success_at) VALUES (\(meter), \(now))
                ON CONFLICT (meter) DO UPDATE SET last_success_at = excluded.last_success_at
                """, logger: logger)
            return changed
        }
    }

    public func markFailed(_ rowIDs: [Int64], meter: String, owner: String, failure: DeliveryFailure, retryAt: Int64,
                           spendAttempt: Bool, maxAttempts: Int, now: Int64) async throws -> MarkResult {
        let spend: Int32 = spendAttempt ? 1 : 0
        let limit = Int32(clamping: maxAttempts)
        return try await transaction { connection in
            var result = MarkResult(failed: 0, dead: 0)
            for try await state in try await connection.query("""
                UPDATE outbox_events SET
                    attempts = attempts + \(spend),
                    state = CASE WHEN \(limit) > 0 AND attempts + \(spend) >= \(limit) THEN 4 ELSE 2 END,
                    dead_at = CASE WHEN \(limit) > 0 AND attempts + \(spend) >= \(limit) THEN \(now) ELSE NULL END,
                    last_error = CASE WHEN \(limit) > 0 AND attempts + \(spend) >= \(limit)
                                      THEN 'gave up after ' || (attempts + \(spend)) || ' attempts (--max-attempts); last failure: ' || \(failure.reason)
                                      ELSE \(failure.reason) END,
                    response_body = CASE WHEN \(limit) > 0 AND attempts + \(spend) >= \(limit) THEN \(failure.responseBody) ELSE NULL END,
                    next_attempt_at = \(retryAt), lease_owner = NULL, updated_at = \(now),
                    last_status = \(failure.status.map(Int32.init)), track_id = \(failure.trackID)
                WHERE id = ANY(\(rowIDs)) AND state = 1 AND lease_owner = \(owner)
                RETURNING state
                """, logger: logger).decode(Int16.self) {
                if state == 4 { result.dead += 1 } else { result.failed += 1 }
            }
            var delta = StateCounts()
            delta.move(result.failed, from: .inflight, to: .failed)
            delta.move(result.dead, from: .inflight, to: .dead)
            try await Self.adjust(delta, meter: meter, on: connection, logger: logger)
            try await Self.recordFailure(failure, meter: meter, now: now, on: connection, logger: logger)
            return result
        }
    }

    public func markDead(_ rowIDs: [Int64], meter: String, owner: String, failure: DeliveryFailure, now: Int64) async throws -> Int {
        try await transaction { connection in
            var changed = 0
            for try await _ in try await connection.query("""
                UPDATE outbox_events SET state = 4, dead_at = \(now), updated_at = \(now), lease_owner = NULL,
                    last_status = \(failure.status.map(Int32.init)), last_error = \(failure.reason),
                    response_body = \(failure.responseBody), track_id = \(failure.trackID)
                WHERE id = ANY(\(rowIDs)) AND state = 1 AND lease_owner = \(owner)
                RETURNING id
                """, logger: logger).decode(Int64.self) {
                changed += 1
            }
            var delta = StateCounts()
            delta.move(changed, from: .inflight, to: .dead)
            try await Self.adjust(delta, meter: meter, on: connection, logger: logger)
            return changed
        }
    }

    public func release(_ rowIDs: [Int64], meter: String, owner: String, now: Int64) async throws -> Int {
        try await transaction { connection in
            var delta = StateCounts()
            for try await state in try await connection.query("""
                UPDATE outbox_events SET state = CASE claimed_from WHEN 2 THEN 2 ELSE 0 END, lease_owner = NULL,
                    next_attempt_at = \(now), updated_at = \(now)
                WHERE id = ANY(\(rowIDs)) AND state = 1 AND lease_owner = \(owner)
                RETURNING state
                """, logger: logger).decode(Int16.self) {
                delta.move(1, from: .inflight, to: state == 2 ? .failed : .pending)
            }
            try await Self.adjust(delta, meter: meter, on: connection, logger: logger)
            return delta.pending + delta.failed
        }
    }

    public func nextDueTime() async throws -> Int64? {
        let meters = try await metersWithWork()
        return try await read { connection in
            var earliest: Int64?
            for meter in meters {
                // One index seek per meter (meter leads the due index).
                for try await due in try await connection.query(
                    "SELECT min(next_attempt_at) FROM outbox_events WHERE meter = \(meter) AND state < 3", logger: logger
                ).decode(Int64?.self) {
                    if let due { earliest = min(earliest ?? due, due) }
                }
            }
            return earliest
        }
    }

    public func undeliveredCount() async throws -> Int {
        try await read { connection in
            for try await count in try await connection.query("SELECT coalesce(sum(pending + inflight + failed), 0)::bigint FROM outbox_meter_counters", logger: logger).decode(Int64.self) {
                return Int(count)
            }
            return 0
        }
    }

    static func recordFailure(_ failure: DeliveryFailure, meter: String, now: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            INSERT INTO outbox_meters (meter, last_status, last_error, last_error_at) VALUES (\(meter), \(failure.status.map(Int32.init)), \(failure.reason), \(now))
            ON CONFLICT (meter) DO UPDATE SET last_status = excluded.last_status, last_error = excluded.last_error, last_error_at = excluded.last_error_at
            """, logger: logger)
    }
}
