/// `DispatchStore` on SQLite. Claims and marks are group-committed writes,
/// so they share transactions (and syncs) with concurrent appends.
extension Outbox: DispatchStore {
    public func metersWithWork() async throws -> [String] {
        try await database.withConnection { connection in
            let statement = try connection.cached("SELECT meter FROM outbox_meters WHERE pending + inflight + failed > 0 ORDER BY meter")
            defer { statement.reset() }
            var meters: [String] = []
            while try statement.step() { meters.append(statement.string(0)) }
            return meters
        }
    }

    public func hasDueEvents(now: Int64) async throws -> Bool {
        try await database.withConnection { connection in
            let meters = try connection.cached("SELECT meter FROM outbox_meters WHERE pending + inflight + failed > 0")
            defer { meters.reset() }
            var names: [String] = []
            while try meters.step() { names.append(meters.string(0)) }
            for meter in names {
                let due = try connection.scalarInt(
                    "SELECT 1 FROM outbox_events WHERE meter = ?1 AND state < 3 AND next_attempt_at <= ?2 LIMIT 1",
                    .text(meter), .integer(now))
                if due != nil { return true }
            }
            return false
        }
    }

    /// One statement: the inner query walks the due index in due order and
    /// keeps a running total of body sizes, so the claim stops at the byte
    /// budget; `claimed_from = state` keeps each row's previous state (SET
    /// reads old values) for the counters.
    static let claimSQL = """
        UPDATE outbox_events
        SET claimed_from = state, state = 1, lease_owner = ?1, next_attempt_at = ?2, updated_at = ?3
        WHERE id IN (
            SELECT id FROM (
                SELECT id,
                       sum(length(body) + 1) OVER (ORDER BY next_attempt_at, id ROWS UNBOUNDED PRECEDING) AS array_bytes,
                       row_number() OVER (ORDER BY next_attempt_at, id) AS position
                FROM (
                    SELECT id, body, next_attempt_at FROM outbox_events
                    WHERE meter = ?4 AND state < 3 AND next_attempt_at <= ?3
                    ORDER BY next_attempt_at, id
                    LIMIT ?5
                )
            )
            WHERE array_bytes + 1 <= ?6 OR position = 1
        )
        RETURNING id, event_id, body, attempts, claimed_from
        """

    public func claim(meter: String, owner: String, limit: Int, maxBytes: Int, leaseUntil: Int64, now: Int64) async throws -> [ClaimedEvent] {
        try await database.write { context in
            let statement = try context.connection.cached(Outbox.claimSQL)
            defer { statement.reset() }
            try statement.bind(owner, at: 1)
            try statement.bind(leaseUntil, at: 2)
            try statement.bind(now, at: 3)
            try statement.bind(meter, at: 4)
            try statement.bind(limit, at: 5)
            try statement.bind(maxBytes, at: 6)
            var events: [ClaimedEvent] = []
            var fromPending = 0
            var fromFailed = 0
            while try statement.step() {
                events.append(ClaimedEvent(rowID: statement.int64(0), eventID: statement.string(1), body: statement.bytes(2), attempts: statement.int(3)))
                switch statement.int64(4) {
                case EventState.pending.rawValue: fromPending += 1
                case EventState.failed.rawValue: fromFailed += 1
                default: break  // an expired lease taken over: inflight stays inflight
                }
            }
            if fromPending + fromFailed > 0 {
                context.adjust(meter) { counts in
                    counts.move(fromPending, from: .pending, to: .inflight)
                    counts.move(fromFailed, from: .failed, to: .inflight)
                }
            }
            return events
        }
    }

    public func renewLease(_ rowIDs: [Int64], owner: String, until: Int64, now: Int64) async throws -> Set<Int64> {
        let ids = Outbox.jsonArray(rowIDs)
        return try await database.write { context in
            let statement = try context.connection.cached("""
                UPDATE outbox_events SET next_attempt_at = ?1, updated_at = ?2
                WHERE id IN (SELECT value FROM json_each(?3)) AND state = 1 AND lease_owner = ?4
                RETURNING id
                """)
            defer { statement.reset() }
            try statement.bind(until, at: 1)
            try statement.bind(now, at: 2)
            try statement.bind(ids, at: 3)
            try statement.bind(owner, at: 4)
            var held = Set<Int64>()
            while try statement.step() { held.insert(statement.int64(0)) }
            return held
        }
    }

    public func markSent(_ rowIDs: [Int64], meter: String, owner: String, status: Int, trackID: String, now: Int64) async throws -> Int {
        let ids = Outbox.jsonArray(rowIDs)
        return try await database.write { context in
            let connection = context.connection
            let statement = try connection.cached("""
                UPDATE outbox_events
                SET state = 3, lease_owner = NULL, sent_at = ?1, updated_at = ?1, last_status = ?2, track_id = ?3
                WHERE id IN (SELECT value FROM json_each(?4)) AND state = 1 AND lease_owner = ?5
                """)
            defer { statement.reset() }
            try statement.bind(now, at: 1)
            try statement.bind(status, at: 2)
            try statement.bind(trackID, at: 3)
            try statement.bind(ids, at: 4)
            try statement.bind(owner, at: 5)
            try statement.run()
            let changed = connection.changes
            context.adjust(meter) { $0.move(changed, from: .inflight, to: .sent) }
            try connection.execute("UPDATE outbox_meters SET last_success_at = ?1 WHERE meter = ?2", .integer(now), .text(meter))
            return changed
        }
    }

    public func markFailed(_ rowIDs: [Int64], meter: String, owner: String, failure: DeliveryFailure, retryAt: Int64,
                           spendAttempt: Bool, maxAttempts: Int, now: Int64) async throws -> MarkResult {
        let ids = Outbox.jsonArray(rowIDs)
        return try await database.write { context in
            let connection = context.connection
            // ?6 is 1 when an attempt is spent; a row gives up when it reaches ?7 (> 0).
            let statement = try connection.cached("""
                UPDATE outbox_events
                SET attempts = attempts + ?6,
                    state = CASE WHEN ?7 > 0 AND attempts + ?6 >= ?7 THEN 4 ELSE 2 END,
                    dead_at = CASE WHEN ?7 > 0 AND attempts + ?6 >= ?7 THEN ?1 ELSE NULL END,
                    last_error = CASE WHEN ?7 > 0 AND attempts + ?6 >= ?7
                                      THEN 'gave up after ' || (attempts + ?6) || ' attempts (--max-attempts); last failure: ' || ?3
                                      ELSE ?3 END,
                    response_body = CASE WHEN ?7 > 0 AND attempts + ?6 >= ?7 THEN ?8 ELSE NULL END,
                    next_attempt_at = ?2, lease_owner = NULL, updated_at = ?1, last_status = ?4, track_id = ?5
                WHERE id IN (SELECT value FROM json_each(?9)) AND state = 1 AND lease_owner = ?10
                RETURNING state
                """)
            defer { statement.reset() }
            try statement.bind(now, at: 1)
            try statement.bind(retryAt, at: 2)
            try statement.bind(failure.reason, at: 3)
            try statement.bind(failure.status.map(Int64.init), at: 4)
            try statement.bind(failure.trackID, at: 5)
            try statement.bind(spendAttempt ? 1 : 0, at: 6)
            try statement.bind(maxAttempts, at: 7)
            try statement.bind(failure.responseBody, at: 8)
            try statement.bind(ids, at: 9)
            try statement.bind(owner, at: 10)
            var result = MarkResult(failed: 0, dead: 0)
            while try statement.step() {
                if statement.int64(0) == EventState.dead.rawValue { result.dead += 1 } else { result.failed += 1 }
            }
            context.adjust(meter) { counts in
                counts.move(result.failed, from: .inflight, to: .failed)
                counts.move(result.dead, from: .inflight, to: .dead)
            }
            try Outbox.recordMeterFailure(failure, meter: meter, now: now, on: connection)
            return result
        }
    }

    public func markDead(_ rowIDs: [Int64], meter: String, owner: String, failure: DeliveryFailure, now: Int64) async throws -> Int {
        let ids = Outbox.jsonArray(rowIDs)
        return try await database.write { context in
            let connection = context.connection
            let statement = try connection.cached("""
                UPDATE outbox_events
                SET state = 4, dead_at = ?1, updated_at = ?1, lease_owner = NULL,
                    last_status = ?2, last_error = ?3, response_body = ?4, track_id = ?5
                WHERE id IN (SELECT value FROM json_each(?6)) AND state = 1 AND lease_owner = ?7
                """)
            defer { statement.reset() }
            try statement.bind(now, at: 1)
            try statement.bind(failure.status.map(Int64.init), at: 2)
            try statement.bind(failure.reason, at: 3)
            try statement.bind(failure.responseBody, at: 4)
            try statement.bind(failure.trackID, at: 5)
            try statement.bind(ids, at: 6)
            try statement.bind(owner, at: 7)
            try statement.run()
            let changed = connection.changes
            context.adjust(meter) { $0.move(changed, from: .inflight, to: .dead) }
            return changed
        }
    }

    public func release(_ rowIDs: [Int64], meter: String, owner: String, now: Int64) async throws -> Int {
        let ids = Outbox.jsonArray(rowIDs)
        return try await database.write { context in
            let statement = try context.connection.cached("""
                UPDATE outbox_events
                SET state = CASE claimed_from WHEN 2 THEN 2 ELSE 0 END, lease_owner = NULL,
                    next_attempt_at = ?1, updated_at = ?1
                WHERE id IN (SELECT value FROM json_each(?2)) AND state = 1 AND lease_owner = ?3
                RETURNING state
                """)
            defer { statement.reset() }
            try statement.bind(now, at: 1)
            try statement.bind(ids, at: 2)
            try statement.bind(owner, at: 3)
            var toPending = 0
            var toFailed = 0
            while try statement.step() {
                if statement.int64(0) == EventState.failed.rawValue { toFailed += 1 } else { toPending += 1 }
            }
            context.adjust(meter) { counts in
                counts.move(toPending, from: .inflight, to: .pending)
                counts.move(toFailed, from: .inflight, to: .failed)
            }
            return toPending + toFailed
        }
    }

    public func nextDueTime() async throws -> Int64? {
        try await database.withConnection { connection in
            let meters = try connection.cached("SELECT meter FROM outbox_meters WHERE pending + inflight + failed > 0")
            defer { meters.reset() }
            var names: [String] = []
            while try meters.step() { names.append(meters.string(0)) }
            var earliest: Int64?
            for meter in names {
                // min() over the due index's leading columns: one seek per meter.
                if let due = try connection.scalarInt("SELECT min(next_attempt_at) FROM outbox_events WHERE meter = ?1 AND state < 3", .text(meter)) {
                    earliest = min(earliest ?? due, due)
                }
            }
            return earliest
        }
    }

    public func undeliveredCount() async throws -> Int {
        try await database.withConnection { connection in
            Int(try connection.scalarInt("SELECT coalesce(sum(pending + inflight + failed), 0) FROM outbox_meters") ?? 0)
        }
    }

    static func recordMeterFailure(_ failure: DeliveryFailure, meter: String, now: Int64, on connection: SQLiteConnection) throws {
        try connection.execute("UPDATE outbox_meters SET last_status = ?1, last_error = ?2, last_error_at = ?3 WHERE meter = ?4",
                               failure.status.map { .integer(Int64($0)) } ?? .null, .text(failure.reason), .integer(now), .text(meter))
    }

    /// Row ids as a JSON array, for `json_each(?)`: one cached statement
    /// serves any number of ids.
    static func jsonArray(_ ids: [Int64]) -> String {
        var text = "["
        text.reserveCapacity(ids.count * 8 + 2)
        for (index, id) in ids.enumerated() {
            if index > 0 { text += "," }
            text += String(id)
        }
        return text + "]"
    }
}
