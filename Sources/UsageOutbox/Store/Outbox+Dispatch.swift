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

    /// The due events of a meter, in due order, from the due index alone
    /// (a range scan: the same cost with 1k or 1M waiting).
    static let dueSQL = """
        SELECT id, event_id, body, attempts, state FROM outbox_events
        WHERE meter = ?1 AND state < 3 AND next_attempt_at <= ?2
        ORDER BY next_attempt_at, id
        LIMIT ?3
        """

    /// Takes the chosen rows under a lease. `claimed_from = state` keeps each
    /// row's previous state (SET reads the old values) for `release`.
    static let leaseSQL = """
        UPDATE outbox_events
        SET claimed_from = state, state = 1, lease_owner = ?1, next_attempt_at = ?2, updated_at = ?3
        WHERE id IN (SELECT value FROM json_each(?4)) AND state < 3
        RETURNING id
        """

    /// Reads the due rows, stops at the byte budget (the first event always
    /// goes, however large, so that Zuora's 413 can dead-letter it), then
    /// leases them with `UPDATE ... RETURNING`, all inside one
    /// `BEGIN IMMEDIATE` transaction, so no other claim can interleave.
    ///
    /// Measured on 1M waiting events: this costs about half of one UPDATE
    /// whose subquery computes the byte budget with a window function and
    /// returns the bodies (the window sorts the rows; RETURNING buffers them).
    public func claim(meter: String, owner: String, limit: Int, maxBytes: Int, leaseUntil: Int64, now: Int64) async throws -> [ClaimedEvent] {
        try await database.write(isolated: false) { context in
            let connection = context.connection
            let due = try connection.cached(Outbox.dueSQL)
            defer { due.reset() }
            try due.bind(meter, at: 1)
            try due.bind(now, at: 2)
            try due.bind(limit, at: 3)
            var events: [ClaimedEvent] = []
            var states: [Int64] = []
            var arrayBytes = 1  // "[" and "]" less one comma
            while try due.step() {
                let size = due.withBytes(2) { $0.count } + 1
                if !events.isEmpty && arrayBytes + size > maxBytes { break }
                arrayBytes += size
                events.append(ClaimedEvent(rowID: due.int64(0), eventID: due.string(1), body: due.bytes(2), attempts: due.int(3)))
                states.append(due.int64(4))
            }
            due.reset()
            guard !events.isEmpty else { return [] }

            let lease = try connection.cached(Outbox.leaseSQL)
            defer { lease.reset() }
            try lease.bind(owner, at: 1)
            try lease.bind(leaseUntil, at: 2)
            try lease.bind(now, at: 3)
            try lease.bind(Outbox.jsonArray(events.map(\.rowID)), at: 4)
            var leased = 0
            while try lease.step() { leased += 1 }
            // One write transaction: nothing can have changed the rows
            // between the read and the update. If it did, give up the claim.
            guard leased == events.count else {
                throw OutboxError(.storage, "claim leased \(leased) of the \(events.count) rows it read in the same transaction",
                                  hint: "the database may be damaged; run `outbox verify`")
            }
            let fromPending = states.count { $0 == EventState.pending.rawValue }
            let fromFailed = states.count { $0 == EventState.failed.rawValue }
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
        return try await database.write(isolated: false) { context in
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
        return try await database.write(isolated: false) { context in
            let connection = context.connection
            let statement = try connection.cached("""
                UPDATE outbox_events
                SET state = 3, lease_owner = NULL, sent_at = ?1, updated_at = ?1
                WHERE id IN (SELECT value FROM json_each(?2)) AND state = 1 AND lease_owner = ?3
                """)
            defer { statement.reset() }
            // Status and track id are not stored on sent rows: a sent row is
            // written twice per delivery, and the request log has both.
            try statement.bind(now, at: 1)
            try statement.bind(ids, at: 2)
            try statement.bind(owner, at: 3)
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
        return try await database.write(isolated: false) { context in
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
        return try await database.write(isolated: false) { context in
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
        return try await database.write(isolated: false) { context in
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
