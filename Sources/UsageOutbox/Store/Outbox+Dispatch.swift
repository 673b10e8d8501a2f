/// `DispatchStore` on SQLite: delivery tracked like a log. A meter's events
/// are handed out in insertion order, a range per claim: a claim writes one
/// range row and moves the meter's position, not one row per event; a
/// settlement marks the range settled and writes rows only for the events
/// that failed or died. Events that wait for a retry (or that an operator
/// put back) have rows of their own in `outbox_retries`, claimed one by one.
///
/// Claims and settlements are group-committed writes, so they share
/// transactions (and syncs) with concurrent appends. Every write that acts
/// on a claim is fenced by its token.
extension Outbox: DispatchStore {
    package func metersWithWork() async throws -> [String] {
        try await database.withConnection { connection in try Outbox.metersWithWork(connection) }
    }

    package func outboxID() async throws -> String {
        try await database.withConnection { connection in
            guard let id = try connection.scalarString("SELECT outbox_id FROM outbox_identity WHERE singleton = 1") else {
                throw OutboxError(
                    .corrupt, "the outbox has no id (its outbox_identity table is empty, which only a damaged schema can be): restore it from a backup")
            }
            return id
        }
    }

    static func metersWithWork(_ connection: SQLiteConnection) throws -> [String] {
        MeterBacklog.metersWithWork(try meterBacklogs(connection))
    }

    /// Every meter's undelivered counters and pause flag (`MeterBacklog`).
    static func meterBacklogs(_ connection: SQLiteConnection) throws -> [MeterBacklog] {
        let statement = try connection.cached("SELECT meter, pending, inflight, failed, paused FROM outbox_meters")
        defer { statement.reset() }
        var backlogs: [MeterBacklog] = []
        while try statement.step() {
            backlogs.append(
                MeterBacklog(
                    meter: statement.string(0), counts: StateCounts(pending: statement.int(1), inflight: statement.int(2), failed: statement.int(3)),
                    paused: statement.int(4) != 0))
        }
        return backlogs
    }

    /// Takes, in one write transaction, the meter's next events in
    /// `ClaimSource`'s order (a lapsed range, else due retry rows, else a
    /// new range), cut at the byte budget (`ClaimBudget`).
    package func claim(meter: String, owner: String, limit: Int, maxBytes: Int, leaseMilliseconds: Int64) async throws -> Claim? {
        let token = ClaimToken.make(owner: owner)
        let clock = configuration.clock
        let (events, mayHaveBeenSent): ([ClaimedEvent], Bool) = try await database.write(isolated: false) { context in
            let connection = context.connection
            // Paused since the meter was picked: leave it alone.
            if try Outbox.isPaused(meter, on: connection) { return ([], false) }
            let now = clock.wallMilliseconds()
            let lease = now + leaseMilliseconds
            let budget = ClaimBudget(limit: limit, maxBytes: maxBytes)
            for place in ClaimSource.order {
                switch place {
                case .lapsedRange:
                    if let taken = try RangeClaims.takeOverLapsed(meter: meter, token: token, budget: budget, leaseUntil: lease, now: now, on: connection) {
                        return (taken, ClaimSource.lapsedRange.mayHaveBeenSent)
                    }
                case .dueRetries:
                    let (retries, group) = try RetryClaims.claim(
                        meter: meter, token: token, limit: limit, maxBytes: maxBytes, leaseUntil: lease, now: now, context: context)
                    if !retries.isEmpty { return (retries, ClaimSource.dueRetries(group).mayHaveBeenSent) }
                case .nextRange:
                    let next = try RangeClaims.claimNext(meter: meter, token: token, limit: limit, maxBytes: maxBytes, leaseUntil: lease, context: context)
                    if !next.isEmpty { return (next, ClaimSource.nextRange.mayHaveBeenSent) }
                }
            }
            return ([], false)
        }
        if events.isEmpty { return nil }
        return Claim(token: token, meter: meter, events: events, leaseMilliseconds: leaseMilliseconds, mayHaveBeenSent: mayHaveBeenSent)
    }

    package func renewLease(_ rowIDs: [Int64], token: ClaimToken, leaseMilliseconds: Int64) async throws -> Set<Int64> {
        let clock = configuration.clock
        return try await database.write(isolated: false) { context in
            let until = clock.wallMilliseconds() + leaseMilliseconds
            let ranges = try RangeClaims.renew(token: token, leaseUntil: until, on: context.connection)
            if !ranges.isEmpty {
                return Set(rowIDs.filter { id in ranges.contains { $0.contains(id) } })
            }
            return try RetryClaims.renew(rowIDs, token: token, leaseUntil: until, now: until - leaseMilliseconds, on: context.connection)
        }
    }

    package func settle(_ settlement: Settlement, token: ClaimToken) async throws -> SettlementResult {
        let clock = configuration.clock
        return try await database.write(isolated: false) { context in
            let connection = context.connection
            let now = clock.wallMilliseconds()
            let result: SettlementResult
            if let range = try RangeClaims.openRange(of: token, meter: settlement.meter, containing: settlement.rows.map(\.rowID), on: connection) {
                result = try RangeClaims.settle(settlement, in: range, now: now, context: context)
            } else {
                // Not one range of the claim: rows from retries, or a part of
                // which another dispatcher took some rows over (a lapsed
                // lease). Each range of the claim settles the rows it still
                // holds; the rest are retry rows, or lost.
                var rest = settlement
                var partial = SettlementResult()
                for range in try RangeClaims.openRanges(of: token, meter: settlement.meter, on: connection) {
                    let part = rest.restricted { range.contains($0.rowID) }
                    guard !part.rows.isEmpty else { continue }
                    partial = partial + (try RangeClaims.settle(part, in: range, now: now, context: context))
                    rest = rest.restricted { !range.contains($0.rowID) }
                }
                result = partial + (try RetryClaims.settle(rest, token: token, now: now, context: context))
            }
            if settlement.isSuccess {
                try connection.execute("UPDATE outbox_meters SET last_success_at = ?1 WHERE meter = ?2", .integer(now), .text(settlement.meter))
            } else if let failure = settlement.meterFailure {
                try connection.execute(
                    "UPDATE outbox_meters SET last_status = ?1, last_error = ?2, last_error_at = ?3 WHERE meter = ?4",
                    settlement.record.status.map { .integer(Int64($0)) } ?? .null, .text(failure), .integer(now), .text(settlement.meter))
            }
            return result
        }
    }

    package func release(_ rowIDs: [Int64], meter: String, token: ClaimToken) async throws -> Int {
        let clock = configuration.clock
        return try await database.write(isolated: false) { context in
            let now = clock.wallMilliseconds()
            let released = try RangeClaims.release(rowIDs, token: token, meter: meter, now: now, context: context)
            if released > 0 { return released }
            return try RetryClaims.release(rowIDs, meter: meter, token: token, now: now, context: context)
        }
    }

    package func nextDueDelay() async throws -> Int64? {
        let clock = configuration.clock
        return try await database.withConnection { connection in
            let now = clock.wallMilliseconds()
            let meters = try Outbox.metersWithWork(connection).map { try Outbox.dueTimes(of: $0, on: connection) }
            return NextDue.delay(meters, now: now)
        }
    }

    /// What `NextDue` needs of one meter: whether events wait past its
    /// position, its earliest lease to lapse and retry to fall due.
    static func dueTimes(of meter: String, on connection: SQLiteConnection) throws -> MeterDueTimes {
        let unclaimed = try connection.scalarInt(
            "SELECT 1 FROM outbox_log WHERE meter = ?1 AND id > (SELECT claimed_through FROM outbox_meters WHERE meter = ?1) LIMIT 1",
            .text(meter))
        return MeterDueTimes(
            unclaimed: unclaimed == nil ? .none : .ready,
            earliestLeaseLapse: try connection.scalarInt(
                "SELECT min(lease_until) FROM outbox_ranges WHERE meter = ?1 AND settled_at IS NULL", .text(meter)),
            earliestRetryDue: try connection.scalarInt("SELECT min(due_at) FROM outbox_retries WHERE meter = ?1", .text(meter)))
    }

    package func undeliveredCount() async throws -> Int {
        MeterBacklog.undelivered(try await database.withConnection { try Outbox.meterBacklogs($0) }, paused: false)
    }

    package func pausedCount() async throws -> Int {
        MeterBacklog.undelivered(try await database.withConnection { try Outbox.meterBacklogs($0) }, paused: true)
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
