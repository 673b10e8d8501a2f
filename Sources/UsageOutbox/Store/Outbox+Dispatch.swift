/// `DispatchStore` on SQLite. Claims and settlements are group-committed
/// writes, so they share transactions (and syncs) with concurrent appends.
/// Every write that acts on a claim is fenced by its token
/// (`lease_owner = ?token`).
extension Outbox: DispatchStore {
    public func metersWithWork() async throws -> [String] {
        try await database.withConnection { connection in try Outbox.metersWithWork(connection) }
    }

    static func metersWithWork(_ connection: SQLiteConnection) throws -> [String] {
        let statement = try connection.cached("SELECT meter FROM outbox_meters WHERE pending + inflight + failed > 0 AND paused = 0 ORDER BY meter")
        defer { statement.reset() }
        var meters: [String] = []
        while try statement.step() { meters.append(statement.string(0)) }
        return meters
    }

    /// The due events of a meter, in due order, from the due index alone
    /// (a range scan: the same cost with 1k or 1M waiting).
    static let dueSQL = """
        SELECT id, event_id, body, attempts, state FROM outbox_events
        WHERE meter = ?1 AND state < 3 AND next_attempt_at <= ?2
        ORDER BY next_attempt_at, id
        LIMIT ?3
        """

    /// Takes the chosen rows under the claim's token. `claimed_from = state`
    /// keeps each row's previous state (SET reads the old values) for `release`.
    static let leaseSQL = """
        UPDATE outbox_events
        SET claimed_from = state, state = ?5, lease_owner = ?1, next_attempt_at = ?2, updated_at = ?3
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
    public func claim(meter: String, owner: String, limit: Int, maxBytes: Int, leaseMilliseconds: Int64) async throws -> Claim? {
        let token = ClaimToken.make(owner: owner)
        let clock = configuration.clock
        let events: [ClaimedEvent] = try await database.write(isolated: false) { context in
            let connection = context.connection
            // Paused since the meter was picked: leave it alone.
            if try Outbox.isPaused(meter, on: connection) { return [] }
            let now = clock.wallMilliseconds()
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
            try lease.bind(token.value, at: 1)
            try lease.bind(now + leaseMilliseconds, at: 2)
            try lease.bind(now, at: 3)
            try lease.bind(Outbox.jsonArray(events.map(\.rowID)), at: 4)
            try lease.bind(EventState.inflight.rawValue, at: 5)
            var leased = 0
            while try lease.step() { leased += 1 }
            // One write transaction: nothing can have changed the rows
            // between the read and the update. If it did, give up the claim.
            guard leased == events.count else {
                throw OutboxError(
                    .storage, "claim leased \(leased) of the \(events.count) rows it read in the same transaction",
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
        if events.isEmpty { return nil }
        return Claim(token: token, meter: meter, events: events, leaseMilliseconds: leaseMilliseconds)
    }

    public func renewLease(_ rowIDs: [Int64], token: ClaimToken, leaseMilliseconds: Int64) async throws -> Set<Int64> {
        let ids = Outbox.jsonArray(rowIDs)
        let clock = configuration.clock
        return try await database.write(isolated: false) { context in
            let now = clock.wallMilliseconds()
            let statement = try context.connection.cached(
                """
                UPDATE outbox_events SET next_attempt_at = ?1, updated_at = ?2
                WHERE id IN (SELECT value FROM json_each(?3)) AND state = ?5 AND lease_owner = ?4
                RETURNING id
                """)
            defer { statement.reset() }
            try statement.bind(now + leaseMilliseconds, at: 1)
            try statement.bind(now, at: 2)
            try statement.bind(ids, at: 3)
            try statement.bind(token.value, at: 4)
            try statement.bind(EventState.inflight.rawValue, at: 5)
            var held = Set<Int64>()
            while try statement.step() { held.insert(statement.int64(0)) }
            return held
        }
    }

    /// One statement applies every row's outcome, read from a JSON array of
    /// `[row id, state, attempts, retry delay (ms), reason]`. Sent rows keep
    /// their attempts, last error and status (a sent row is written twice per
    /// delivery; the request log has the answer).
    static let settleSQL = """
        UPDATE outbox_events AS e SET
            state = p.state,
            attempts = coalesce(p.attempts, e.attempts),
            next_attempt_at = ?1 + p.delay,
            lease_owner = NULL,
            updated_at = ?1,
            sent_at = CASE WHEN p.state = ?2 THEN ?1 ELSE NULL END,
            dead_at = CASE WHEN p.state = ?3 THEN ?1 ELSE NULL END,
            last_error = CASE WHEN p.state = ?2 THEN e.last_error ELSE p.reason END,
            last_status = CASE WHEN p.state = ?2 THEN e.last_status ELSE ?4 END,
            response_body = CASE WHEN p.state = ?3 THEN ?5 ELSE NULL END,
            track_id = CASE WHEN p.state = ?2 THEN e.track_id ELSE ?6 END
        FROM (SELECT value ->> 0 AS id, value ->> 1 AS state, value ->> 2 AS attempts, value ->> 3 AS delay, value ->> 4 AS reason
              FROM json_each(?7)) AS p
        WHERE e.id = p.id AND e.state = ?8 AND e.lease_owner = ?9
        RETURNING id, state
        """

    public func settle(_ settlement: Settlement, token: ClaimToken) async throws -> SettlementResult {
        let plan = Outbox.planJSON(settlement)
        let clock = configuration.clock
        return try await database.write(isolated: false) { context in
            let connection = context.connection
            let now = clock.wallMilliseconds()
            let statement = try connection.cached(Outbox.settleSQL)
            defer { statement.reset() }
            try statement.bind(now, at: 1)
            try statement.bind(EventState.sent.rawValue, at: 2)
            try statement.bind(EventState.dead.rawValue, at: 3)
            try statement.bind(settlement.record.status.map(Int64.init), at: 4)
            try statement.bind(settlement.record.responseBody, at: 5)
            try statement.bind(settlement.record.trackID, at: 6)
            try statement.bind(plan, at: 7)
            try statement.bind(EventState.inflight.rawValue, at: 8)
            try statement.bind(token.value, at: 9)
            var applied: [Int64] = []
            var states: [EventState] = []
            while try statement.step() {
                applied.append(statement.int64(0))
                states.append(EventState(rawValue: statement.int64(1)) ?? .inflight)
            }
            statement.reset()
            let change = settlement.counterChange(applied: applied)
            if !change.isZero { context.adjust(settlement.meter) { $0 += change } }
            if settlement.isSuccess {
                try connection.execute("UPDATE outbox_meters SET last_success_at = ?1 WHERE meter = ?2", .integer(now), .text(settlement.meter))
            } else if let failure = settlement.meterFailure {
                try connection.execute(
                    "UPDATE outbox_meters SET last_status = ?1, last_error = ?2, last_error_at = ?3 WHERE meter = ?4",
                    settlement.record.status.map { .integer(Int64($0)) } ?? .null, .text(failure), .integer(now), .text(settlement.meter))
            }
            return SettlementResult(appliedStates: states, planned: settlement.rows.count)
        }
    }

    public func release(_ rowIDs: [Int64], meter: String, token: ClaimToken) async throws -> Int {
        let ids = Outbox.jsonArray(rowIDs)
        let clock = configuration.clock
        return try await database.write(isolated: false) { context in
            let now = clock.wallMilliseconds()
            let statement = try context.connection.cached(
                """
                UPDATE outbox_events
                SET state = CASE claimed_from WHEN ?4 THEN ?4 ELSE ?5 END, lease_owner = NULL,
                    next_attempt_at = ?1, updated_at = ?1
                WHERE id IN (SELECT value FROM json_each(?2)) AND state = ?6 AND lease_owner = ?3
                RETURNING state
                """)
            defer { statement.reset() }
            try statement.bind(now, at: 1)
            try statement.bind(ids, at: 2)
            try statement.bind(token.value, at: 3)
            try statement.bind(EventState.failed.rawValue, at: 4)
            try statement.bind(EventState.pending.rawValue, at: 5)
            try statement.bind(EventState.inflight.rawValue, at: 6)
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

    public func nextDueDelay() async throws -> Int64? {
        let clock = configuration.clock
        return try await database.withConnection { connection in
            var earliest: Int64?
            for meter in try Outbox.metersWithWork(connection) {
                // min() over the due index's leading columns: one seek per meter.
                if let due = try connection.scalarInt("SELECT min(next_attempt_at) FROM outbox_events WHERE meter = ?1 AND state < 3", .text(meter)) {
                    earliest = min(earliest ?? due, due)
                }
            }
            return earliest.map { $0 - clock.wallMilliseconds() }
        }
    }

    public func undeliveredCount() async throws -> Int {
        try await database.withConnection { connection in
            Int(try connection.scalarInt("SELECT coalesce(sum(pending + inflight + failed), 0) FROM outbox_meters WHERE paused = 0") ?? 0)
        }
    }

    public func pausedCount() async throws -> Int {
        try await database.withConnection { connection in
            Int(try connection.scalarInt("SELECT coalesce(sum(pending + inflight + failed), 0) FROM outbox_meters WHERE paused = 1") ?? 0)
        }
    }

    /// A settlement's rows as the JSON array `settleSQL` reads.
    static func planJSON(_ settlement: Settlement) -> String {
        var text = "["
        text.reserveCapacity(settlement.rows.count * 16 + 2)
        let failure = JSONValue.string(settlement.meterFailure ?? "").jsonText
        for (index, row) in settlement.rows.enumerated() {
            if index > 0 { text += "," }
            text += "[" + String(row.rowID) + "," + String(row.outcome.state.rawValue) + ","
            switch row.outcome {
            case .sent:
                text += "null,0,null]"
            case .retry(let delay, let attempts):
                text += String(attempts) + "," + String(delay) + "," + failure + "]"
            case .dead(let reason, let attempts):
                text += String(attempts) + ",0," + JSONValue.string(reason).jsonText + "]"
            }
        }
        return text + "]"
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
