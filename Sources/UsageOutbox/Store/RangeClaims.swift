import OutboxCore

/// A range of a meter's events held by a claim, on SQLite: positions are
/// row ids.
typealias OpenRange = ClaimedRange<Int64>

/// Claims of new events on SQLite: a meter's events are handed out in
/// insertion order, a range at a time. A claim writes one range row and moves
/// the meter's position; a settlement marks (part of) the range settled and
/// writes rows only for the events that failed or died.
enum RangeClaims {
    static let columns = "meter, first_id, last_id, events, token, lease_until"

    static func range(_ statement: SQLiteStatement) -> OpenRange {
        OpenRange(
            meter: statement.string(0), first: statement.int64(1), last: statement.int64(2), events: statement.int(3),
            token: statement.optionalString(4), leaseUntil: statement.optionalInt64(5))
    }

    /// A meter's events of one range, in order (the first `limit` of them).
    static func events(of range: OpenRange, limit: Int = .max, on connection: SQLiteConnection) throws -> [ClaimedEvent] {
        let statement = try connection.cached("SELECT id, event_id, body FROM outbox_log WHERE meter = ?1 AND id BETWEEN ?2 AND ?3 ORDER BY id LIMIT ?4")
        defer { statement.reset() }
        try statement.bind(range.meter, at: 1)
        try statement.bind(range.first, at: 2)
        try statement.bind(range.last, at: 3)
        try statement.bind(Int64(min(limit, range.events)), at: 4)
        var events: [ClaimedEvent] = []
        events.reserveCapacity(min(limit, range.events))
        while try statement.step() {
            events.append(ClaimedEvent(rowID: statement.int64(0), eventID: statement.string(1), body: statement.bytes(2), attempts: 0))
        }
        return events
    }

    /// Takes over the meter's oldest range whose lease lapsed (its claim
    /// crashed or was given up), under a new token: as much of it as the
    /// claim's budget allows (the rest stays lapsed, for the next claim).
    /// Nil when there is none.
    static func takeOverLapsed(
        meter: String, token: ClaimToken, budget: ClaimBudget, leaseUntil: Int64, now: Int64, on connection: SQLiteConnection
    ) throws -> [ClaimedEvent]? {
        let lapsed = try connection.cached(
            """
            SELECT \(columns) FROM outbox_ranges
            WHERE meter = ?1 AND settled_at IS NULL AND lease_until <= ?2 ORDER BY lease_until, first_id LIMIT 1
            """)
        defer { lapsed.reset() }
        try lapsed.bind(meter, at: 1)
        try lapsed.bind(now, at: 2)
        guard try lapsed.step() else { return nil }
        let range = range(lapsed)
        lapsed.reset()
        let candidates = try events(of: range, limit: budget.limit, on: connection)
        let taken = Array(candidates.prefix(budget.count(ofSizes: candidates.lazy.map(\.body.count))))
        if taken.count == range.events {
            try connection.execute(
                "UPDATE outbox_ranges SET token = ?1, lease_until = ?2 WHERE meter = ?3 AND first_id = ?4",
                .text(token.value), .integer(leaseUntil), .text(meter), .integer(range.first))
        } else if let part = try carve(taken.map(\.rowID), outOf: range, on: connection) {
            try connection.execute(
                insertRange, .text(meter), .integer(part.first), .integer(part.last), .integer(Int64(part.events)), .text(token.value),
                .integer(leaseUntil), .null)
        }
        return taken
    }

    /// A new range: the meter's next events past its position, cut at
    /// `limit` and the byte budget, leased under `token`.
    static func claimNext(meter: String, token: ClaimToken, limit: Int, maxBytes: Int, leaseUntil: Int64, context: WriteContext) throws -> [ClaimedEvent] {
        let connection = context.connection
        let next = try connection.cached(
            """
            SELECT id, event_id, body FROM outbox_log
            WHERE meter = ?1 AND id > (SELECT claimed_through FROM outbox_meters WHERE meter = ?1)
            ORDER BY id LIMIT ?2
            """)
        defer { next.reset() }
        try next.bind(meter, at: 1)
        try next.bind(limit, at: 2)
        var events: [ClaimedEvent] = []
        var cut = ClaimBudget(limit: limit, maxBytes: maxBytes).start()
        while try next.step(), cut.take(eventBytes: next.withBytes(2) { $0.count }) {
            events.append(ClaimedEvent(rowID: next.int64(0), eventID: next.string(1), body: next.bytes(2), attempts: 0))
        }
        next.reset()
        guard let first = events.first?.rowID, let last = events.last?.rowID else { return [] }
        try connection.execute(
            "INSERT INTO outbox_ranges (meter, first_id, last_id, events, token, lease_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            .text(meter), .integer(first), .integer(last), .integer(Int64(events.count)), .text(token.value), .integer(leaseUntil))
        try connection.execute("UPDATE outbox_meters SET claimed_through = ?1 WHERE meter = ?2", .integer(last), .text(meter))
        context.adjust(meter) { $0.move(events.count, from: .pending, to: .inflight) }
        return events
    }

    /// Extends the lease of every open range `token` holds; returns them.
    static func renew(token: ClaimToken, leaseUntil: Int64, on connection: SQLiteConnection) throws -> [OpenRange] {
        let statement = try connection.cached(
            "UPDATE outbox_ranges SET lease_until = ?1 WHERE token = ?2 AND settled_at IS NULL RETURNING \(columns)")
        defer { statement.reset() }
        try statement.bind(leaseUntil, at: 1)
        try statement.bind(token.value, at: 2)
        var ranges: [OpenRange] = []
        while try statement.step() { ranges.append(range(statement)) }
        return ranges
    }

    /// The open ranges `token` holds of `meter`.
    static func openRanges(of token: ClaimToken, meter: String, on connection: SQLiteConnection) throws -> [OpenRange] {
        let open = try connection.cached("SELECT \(columns) FROM outbox_ranges WHERE meter = ?1 AND token = ?2 AND settled_at IS NULL")
        defer { open.reset() }
        try open.bind(meter, at: 1)
        try open.bind(token.value, at: 2)
        var ranges: [OpenRange] = []
        while try open.step() { ranges.append(range(open)) }
        return ranges
    }

    /// The open range `token` holds that contains every id, if any.
    static func openRange(of token: ClaimToken, meter: String, containing ids: [Int64], on connection: SQLiteConnection) throws -> OpenRange? {
        guard let low = ids.min(), let high = ids.max() else { return nil }
        let statement = try connection.cached(
            """
            SELECT \(columns) FROM outbox_ranges
            WHERE meter = ?1 AND token = ?2 AND settled_at IS NULL AND first_id <= ?3 AND last_id >= ?4
            """)
        defer { statement.reset() }
        try statement.bind(meter, at: 1)
        try statement.bind(token.value, at: 2)
        try statement.bind(low, at: 3)
        try statement.bind(high, at: 4)
        return try statement.step() ? range(statement) : nil
    }

    /// Settles the plan's events, a contiguous part of `range` (all of it,
    /// or a bisection half): that part becomes a settled range, the rest
    /// stays open under the same token; sent events need nothing more,
    /// retried and dead ones get rows of their own.
    static func settle(_ settlement: Settlement, in range: OpenRange, now: Int64, context: WriteContext) throws -> SettlementResult {
        let connection = context.connection
        let ids = settlement.rows.map(\.rowID)
        guard let part = try carve(ids, outOf: range, on: connection) else { return SettlementResult() }
        try insertSettled(meter: range.meter, part, now: now, on: connection)
        try ExceptionRows.write(settlement, now: now, on: connection)
        context.adjust(range.meter) { $0 += settlement.counterChange(applied: ids) }
        try advanceDelivered(meter: range.meter, on: connection)
        return SettlementResult(appliedStates: settlement.rows.map(\.outcome.state), planned: settlement.rows.count)
    }

    /// The part of `range` that `ids` cover, contiguous.
    struct Part {
        let first: Int64
        let last: Int64
        let events: Int
    }

    /// Cuts the part that `ids` cover out of `range` (they must be
    /// contiguous in the meter's log): what lies before and after it stays
    /// open under the same token and lease; the part itself is left for the
    /// caller to record. Nil when `ids` is empty.
    static func carve(_ ids: [Int64], outOf range: OpenRange, on connection: SQLiteConnection) throws -> Part? {
        guard let low = ids.min(), let high = ids.max() else { return nil }
        let within = try count(meter: range.meter, from: low, to: high, on: connection)
        try RangeCarving.checkContiguous(named: ids.count, between: within)
        let (before, after) = RangeCarving.remainders(
            rangeEvents: range.events, before: try count(meter: range.meter, from: range.first, to: low - 1, on: connection), part: within)
        try connection.execute("DELETE FROM outbox_ranges WHERE meter = ?1 AND first_id = ?2", .text(range.meter), .integer(range.first))
        let token: SQLiteValue = range.token.map { .text($0) } ?? .null
        let lease: SQLiteValue = range.leaseUntil.map { .integer($0) } ?? .null
        if before > 0 {
            try connection.execute(insertRange, .text(range.meter), .integer(range.first), .integer(low - 1), .integer(Int64(before)), token, lease, .null)
        }
        if after > 0 {
            try connection.execute(insertRange, .text(range.meter), .integer(high + 1), .integer(range.last), .integer(Int64(after)), token, lease, .null)
        }
        return Part(first: low, last: high, events: within)
    }

    static let insertRange = "INSERT INTO outbox_ranges (meter, first_id, last_id, events, token, lease_until, settled_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"

    static func insertSettled(meter: String, _ part: Part, now: Int64, on connection: SQLiteConnection) throws {
        try connection.execute(insertRange, .text(meter), .integer(part.first), .integer(part.last), .integer(Int64(part.events)), .null, .null, .integer(now))
    }

    /// Gives back exactly `rowIDs` of `token`'s open ranges of `meter`, due
    /// at once (the rest of each range stays claimed): a part at the meter's
    /// position moves the position back (its events are pending again, in
    /// order); any other part's events become pending retry rows. Returns
    /// the events released.
    static func release(_ rowIDs: [Int64], token: ClaimToken, meter: String, now: Int64, context: WriteContext) throws -> Int {
        let connection = context.connection
        let ranges = try openRanges(of: token, meter: meter, on: connection)
        var released = 0
        for range in RangeCarving.releaseOrder(ranges) {
            let ids = rowIDs.filter(range.contains)
            guard let part = try carve(ids, outOf: range, on: connection) else { continue }
            let position = try connection.scalarInt("SELECT claimed_through FROM outbox_meters WHERE meter = ?1", .text(meter)) ?? 0
            switch RangeCarving.release(partEndingAt: part.last, position: position) {
            case .positionMovesBack:
                try connection.execute("UPDATE outbox_meters SET claimed_through = ?1 WHERE meter = ?2", .integer(part.first - 1), .text(meter))
            case .retryRowsDueNow:
                try connection.execute(
                    """
                    INSERT INTO outbox_retries (id, meter, state, attempts, due_at, updated_at)
                    SELECT id, meter, ?1, 0, ?2, ?2 FROM outbox_log WHERE meter = ?3 AND id BETWEEN ?4 AND ?5
                    """, .integer(EventState.pending.rawValue), .integer(now), .text(meter), .integer(part.first), .integer(part.last))
                try insertSettled(meter: meter, part, now: now, on: connection)
            }
            released += part.events
        }
        if released > 0 {
            context.adjust(meter) { $0.move(released, from: .inflight, to: .pending) }
            try advanceDelivered(meter: meter, on: connection)
        }
        return released
    }

    /// Moves the meter's delivered position up to its oldest open range.
    static func advanceDelivered(meter: String, on connection: SQLiteConnection) throws {
        try connection.execute(
            """
            UPDATE outbox_meters SET delivered_through = coalesce(
                (SELECT min(first_id) - 1 FROM outbox_ranges WHERE meter = ?1 AND settled_at IS NULL), claimed_through)
            WHERE meter = ?1
            """, .text(meter))
    }

    static func count(meter: String, from first: Int64, to last: Int64, on connection: SQLiteConnection) throws -> Int {
        guard first <= last else { return 0 }
        return Int(
            try connection.scalarInt(
                "SELECT count(*) FROM outbox_log WHERE meter = ?1 AND id BETWEEN ?2 AND ?3",
                .text(meter), .integer(first), .integer(last)) ?? 0)
    }
}
