import Logging
import OutboxCore
import PostgresNIO

/// Claims of new events on PostgreSQL: the next range of a meter's log,
/// handed out under a short lock on the meter's position row, and only
/// below the horizon of finished transactions, so no event can appear behind
/// the position later. One range row per claim; settlements split ranges.
///
/// Every read of a range's events says `LIMIT` how many there are at most:
/// a B-tree scan stops at a row comparison's upper bound only on its first
/// column, so without the limit a range inside one big transaction (a bulk
/// append) would be read to the end of that transaction's events.
enum PostgresRangeClaims {
    /// The events of the log below this are final: every transaction of
    /// this database older than the oldest one still running has finished.
    static let horizon = PostgresLogEpoch.horizon

    /// A range's events, in log order, as one row: the ids and lengths as
    /// arrays, the texts concatenated. Decoding a thousand rows one by one
    /// costs the dispatcher more CPU than the rest of the batch's work.
    static func events(of range: PostgresRange, limit: Int = .max, on connection: PostgresConnection, logger: Logger) async throws -> [ClaimedEvent] {
        for try await (rowIDs, idLengths, bodyLengths, idBytes, bodyBytes) in try await connection.query(
            """
            SELECT coalesce(array_agg(id ORDER BY xact, id), '{}'), coalesce(array_agg(octet_length(event_id) ORDER BY xact, id), '{}'),
                   coalesce(array_agg(octet_length(body) ORDER BY xact, id), '{}'),
                   coalesce(string_agg(event_id, '' ORDER BY xact, id), ''), coalesce(string_agg(body, '' ORDER BY xact, id), '')
            FROM (SELECT id, xact, event_id, body FROM outbox_log
                  WHERE meter = \(range.meter) AND (xact, id) >= (\(range.first.xact), \(range.first.id))
                    AND (xact, id) <= (\(range.last.xact), \(range.last.id))
                  ORDER BY xact, id LIMIT \(min(limit, range.events))) AS events
            """, logger: logger
        ).decode(([Int64], [Int32], [Int32], ByteBuffer, ByteBuffer).self) {
            return try split(rowIDs: rowIDs, idLengths: idLengths, bodyLengths: bodyLengths, idBytes: idBytes, bodyBytes: bodyBytes)
        }
        return []
    }

    static func split(rowIDs: [Int64], idLengths: [Int32], bodyLengths: [Int32], idBytes: ByteBuffer, bodyBytes: ByteBuffer) throws
        -> [ClaimedEvent]
    {
        var idBytes = idBytes
        var bodyBytes = bodyBytes
        var events: [ClaimedEvent] = []
        events.reserveCapacity(rowIDs.count)
        for index in rowIDs.indices {
            guard index < idLengths.count, index < bodyLengths.count,
                let eventID = idBytes.readString(length: Int(idLengths[index])),
                let body = bodyBytes.readBytes(length: Int(bodyLengths[index]))
            else {
                throw OutboxError(.storage, "PostgreSQL returned a range of events whose lengths do not match their texts")
            }
            events.append(ClaimedEvent(rowID: rowIDs[index], eventID: eventID, body: body, attempts: 0))
        }
        return events
    }

    /// Takes over the meter's oldest range whose lease lapsed, under a new
    /// token: as much of it as the claim's budget allows (the rest stays
    /// lapsed, for the next claim). Nil when there is none.
    static func takeOverLapsed(
        meter: String, token: ClaimToken, budget: ClaimBudget, leaseMilliseconds: Int64, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [ClaimedEvent]? {
        var lapsed: PostgresRange?
        for try await (fx, fi, lx, li, events, owner, lease) in try await connection.query(
            """
            SELECT first_xact, first_id, last_xact, last_id, events, token, lease_until FROM outbox_ranges
            WHERE meter = \(meter) AND settled_at IS NULL AND lease_until <= \(unescaped: PostgresOutbox.serverNow)
            ORDER BY lease_until, first_xact, first_id LIMIT 1 FOR UPDATE SKIP LOCKED
            """, logger: logger
        ).decode((Int64, Int64, Int64, Int64, Int32, String?, Int64?).self) {
            lapsed = PostgresRange(
                meter: meter, first: PostgresLogKey(xact: fx, id: fi), last: PostgresLogKey(xact: lx, id: li),
                events: Int(events), token: owner, leaseUntil: lease)
        }
        guard let range = lapsed else { return nil }
        let candidates = try await events(of: range, limit: budget.limit, on: connection, logger: logger)
        let taken = Array(candidates.prefix(budget.count(ofSizes: candidates.lazy.map(\.body.count))))
        if taken.count == range.events {
            try await connection.query(
                """
                UPDATE outbox_ranges SET token = \(token.value), lease_until = \(unescaped: PostgresOutbox.serverNow) + \(leaseMilliseconds)
                WHERE meter = \(meter) AND first_xact = \(range.first.xact) AND first_id = \(range.first.id)
                """, logger: logger)
        } else if let last = taken.last {
            let keys = try await keys(of: [candidates[0].rowID, last.rowID], on: connection, logger: logger)
            let part = try await carve(
                PostgresLogKey.Bounds(count: taken.count, low: keys[0], high: keys[keys.count - 1]), ids: taken.count, outOf: range,
                on: connection, logger: logger)
            try await connection.query(
                """
                INSERT INTO outbox_ranges (meter, first_xact, first_id, last_xact, last_id, events, token, lease_until)
                VALUES (\(meter), \(part.low.xact), \(part.low.id), \(part.high.xact), \(part.high.id), \(Int32(part.count)), \(token.value),
                        \(unescaped: PostgresOutbox.serverNow) + \(leaseMilliseconds))
                """, logger: logger)
        }
        return taken
    }

    /// A new range: the meter's next events past its position, below the
    /// horizon, cut at `limit` and the byte budget, leased under `token`.
    /// Only keys and sizes are read under the position's lock; the caller
    /// reads the events' texts after the commit (`events(of:)`), so claims
    /// of other workers wait on the lock as briefly as possible.
    static func claimNext(
        meter: String, token: ClaimToken, limit: Int, maxBytes: Int, leaseMilliseconds: Int64, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> NextRange {
        let position = try await lockPosition(meter: meter, on: connection, logger: logger)
        // Keys and sizes only: the texts are read after the commit.
        var cut = ClaimBudget(limit: limit, maxBytes: maxBytes).start()
        var next: PostgresLogKey.Bounds?
        for try await (xact, id, size) in try await connection.query(
            """
            SELECT l.xact, l.id, octet_length(l.body) FROM outbox_log l
            WHERE l.meter = \(meter) AND (l.xact, l.id) > (\(position.xact), \(position.id)) AND l.xact < \(unescaped: horizon)
            ORDER BY l.xact, l.id LIMIT \(limit)
            """, logger: logger
        ).decode((Int64, Int64, Int32).self) {
            // Past the budget, the rest of the rows are only read to the end.
            guard cut.take(eventBytes: Int(size)) else { continue }
            let key = PostgresLogKey(xact: xact, id: id)
            next = PostgresLogKey.Bounds(count: cut.taken, low: next?.low ?? key, high: key)
        }
        guard let next else {
            return try await hasEvents(meter: meter, after: position, on: connection, logger: logger) ? .heldBack : .nothing
        }
        let first = next.low
        let last = next.high
        let count = next.count
        try await connection.query(
            """
            WITH range AS (
                INSERT INTO outbox_ranges (meter, first_xact, first_id, last_xact, last_id, events, token, lease_until)
                VALUES (\(meter), \(first.xact), \(first.id), \(last.xact), \(last.id), \(Int32(count)), \(token.value),
                        \(unescaped: PostgresOutbox.serverNow) + \(leaseMilliseconds)))
            UPDATE outbox_positions SET claimed_xact = \(last.xact), claimed_id = \(last.id) WHERE meter = \(meter)
            """, logger: logger)
        var change = StateCounts()
        change.move(count, from: .pending, to: .inflight)
        try await PostgresOutbox.adjust(change, meter: meter, on: connection, logger: logger)
        return .claimed(PostgresRange(meter: meter, first: first, last: last, events: count, token: token.value, leaseUntil: nil))
    }

    enum NextRange: Sendable {
        case claimed(PostgresRange)
        /// Events past the position that are not final yet (a transaction
        /// older than theirs is still running).
        case heldBack
        case nothing
    }

    /// Whether the meter has events past `position`, final or not. (A seek
    /// for the first: `EXISTS` would be planned as a scan.)
    static func hasEvents(meter: String, after position: PostgresLogKey, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        for try await _ in try await connection.query(
            """
            SELECT l.id FROM outbox_log l WHERE l.meter = \(meter) AND (l.xact, l.id) > (\(position.xact), \(position.id))
            ORDER BY l.xact, l.id LIMIT 1
            """, logger: logger
        ).decode(Int64.self) {
            return true
        }
        return false
    }

    /// The meter's position, its row locked until the transaction ends (and
    /// made on the meter's first claim).
    static func lockPosition(meter: String, on connection: PostgresConnection, logger: Logger) async throws -> PostgresLogKey {
        for try await (xact, id) in try await connection.query(
            """
            INSERT INTO outbox_positions (meter) VALUES (\(meter))
            ON CONFLICT (meter) DO UPDATE SET meter = excluded.meter
            RETURNING claimed_xact, claimed_id
            """, logger: logger
        ).decode((Int64, Int64).self) {
            return PostgresLogKey(xact: xact, id: id)
        }
        return .start
    }

    /// The open ranges `token` holds, their leases extended.
    static func renew(token: ClaimToken, leaseMilliseconds: Int64, on connection: PostgresConnection, logger: Logger) async throws -> [PostgresRange] {
        var ranges: [PostgresRange] = []
        for try await (meter, fx, fi, lx, li, events) in try await connection.query(
            """
            UPDATE outbox_ranges SET lease_until = \(unescaped: PostgresOutbox.serverNow) + \(leaseMilliseconds)
            WHERE token = \(token.value) AND settled_at IS NULL
            RETURNING meter, first_xact, first_id, last_xact, last_id, events
            """, logger: logger
        ).decode((String, Int64, Int64, Int64, Int64, Int32).self) {
            ranges.append(
                PostgresRange(
                    meter: meter, first: PostgresLogKey(xact: fx, id: fi), last: PostgresLogKey(xact: lx, id: li),
                    events: Int(events), token: token.value, leaseUntil: nil))
        }
        return ranges
    }

    /// Where some events lie in the meter's log, in one row.
    static func bounds(of ids: [Int64], on connection: PostgresConnection, logger: Logger) async throws -> PostgresLogKey.Bounds? {
        for try await (count, low, high) in try await connection.query(
            "SELECT count(*)::bigint, min(ARRAY[xact, id]), max(ARRAY[xact, id]) FROM outbox_log WHERE id = ANY(\(ids))",
            logger: logger
        ).decode((Int64, [Int64]?, [Int64]?).self) {
            guard count > 0, let low = PostgresLogKey(pair: low), let high = PostgresLogKey(pair: high) else { return nil }
            return PostgresLogKey.Bounds(count: Int(count), low: low, high: high)
        }
        return nil
    }

    /// The log keys of some events, in log order.
    static func keys(of ids: [Int64], on connection: PostgresConnection, logger: Logger) async throws -> [PostgresLogKey] {
        var keys: [PostgresLogKey] = []
        for try await (xact, id) in try await connection.query(
            "SELECT l.xact, l.id FROM outbox_log l WHERE l.id = ANY(\(ids)) ORDER BY l.xact, l.id", logger: logger
        ).decode((Int64, Int64).self) {
            keys.append(PostgresLogKey(xact: xact, id: id))
        }
        return keys
    }

    /// The open range `token` holds around `low...high`, locked.
    static func openRange(
        of token: ClaimToken, meter: String, from low: PostgresLogKey, to high: PostgresLogKey, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> PostgresRange? {
        for try await (fx, fi, lx, li, events, lease) in try await connection.query(
            """
            SELECT first_xact, first_id, last_xact, last_id, events, lease_until FROM outbox_ranges
            WHERE meter = \(meter) AND token = \(token.value) AND settled_at IS NULL
              AND (first_xact, first_id) <= (\(low.xact), \(low.id)) AND (last_xact, last_id) >= (\(high.xact), \(high.id))
            FOR UPDATE
            """, logger: logger
        ).decode((Int64, Int64, Int64, Int64, Int32, Int64?).self) {
            return PostgresRange(
                meter: meter, first: PostgresLogKey(xact: fx, id: fi), last: PostgresLogKey(xact: lx, id: li), events: Int(events),
                token: token.value, leaseUntil: lease)
        }
        return nil
    }

    /// The meter's log key right before (or after) `key`; nil when there is none.
    static func neighbour(of key: PostgresLogKey, before: Bool, meter: String, on connection: PostgresConnection, logger: Logger) async throws
        -> PostgresLogKey?
    {
        let rows =
            before
            ? try await connection.query(
                """
                SELECT l.xact, l.id FROM outbox_log l WHERE l.meter = \(meter) AND (l.xact, l.id) < (\(key.xact), \(key.id))
                ORDER BY l.xact DESC, l.id DESC LIMIT 1
                """, logger: logger)
            : try await connection.query(
                """
                SELECT l.xact, l.id FROM outbox_log l WHERE l.meter = \(meter) AND (l.xact, l.id) > (\(key.xact), \(key.id))
                ORDER BY l.xact, l.id LIMIT 1
                """, logger: logger)
        for try await (xact, id) in rows.decode((Int64, Int64).self) { return PostgresLogKey(xact: xact, id: id) }
        return nil
    }

    /// The meter's events in `first...last`, counted up to `atMost`.
    static func count(
        meter: String, from first: PostgresLogKey, to last: PostgresLogKey, atMost: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> Int {
        guard first <= last else { return 0 }
        for try await count in try await connection.query(
            """
            SELECT count(*)::bigint FROM (
                SELECT 1 FROM outbox_log WHERE meter = \(meter)
                  AND (xact, id) >= (\(first.xact), \(first.id)) AND (xact, id) <= (\(last.xact), \(last.id))
                ORDER BY xact, id LIMIT \(atMost)) AS events
            """, logger: logger
        ).decode(Int64.self) {
            return Int(count)
        }
        return 0
    }

    static func insert(
        _ meter: String, _ first: PostgresLogKey, _ last: PostgresLogKey, events: Int, token: String?, lease: Int64?, settled: Bool,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO outbox_ranges (meter, first_xact, first_id, last_xact, last_id, events, token, lease_until, settled_at)
            VALUES (\(meter), \(first.xact), \(first.id), \(last.xact), \(last.id), \(Int32(events)), \(token), \(lease),
                    CASE WHEN \(settled) THEN \(unescaped: PostgresOutbox.serverNow) END)
            """, logger: logger)
    }

    static func delete(_ range: PostgresRange, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "DELETE FROM outbox_ranges WHERE meter = \(range.meter) AND first_xact = \(range.first.xact) AND first_id = \(range.first.id)",
            logger: logger)
    }

    /// Settles the plan's events, a contiguous part of `range`: it becomes a
    /// settled range, the rest stays open under the same token; retried and
    /// dead events get rows of their own.
    static func settle(
        _ settlement: Settlement, bounds: PostgresLogKey.Bounds, in range: PostgresRange, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> SettlementResult {
        let meter = range.meter
        if bounds.low == range.first && bounds.high == range.last && bounds.count == range.events && settlement.rows.count == range.events {
            // The whole range, the common case: one statement.
            try await connection.query(
                """
                UPDATE outbox_ranges SET token = NULL, lease_until = NULL, settled_at = \(unescaped: PostgresOutbox.serverNow)
                WHERE meter = \(meter) AND first_xact = \(range.first.xact) AND first_id = \(range.first.id)
                """, logger: logger)
        } else {
            let part = try await carve(bounds, ids: settlement.rows.count, outOf: range, on: connection, logger: logger)
            try await insert(meter, part.low, part.high, events: part.count, token: nil, lease: nil, settled: true, on: connection, logger: logger)
        }
        try await PostgresExceptionRows.write(settlement, on: connection, logger: logger)
        try await PostgresOutbox.adjust(settlement.counterChange(applied: settlement.rows.map(\.rowID)), meter: meter, on: connection, logger: logger)
        return SettlementResult(appliedStates: settlement.rows.map(\.outcome.state), planned: settlement.rows.count)
    }

    /// Cuts the part `bounds` covers out of `range` (it must hold exactly
    /// `ids` events: a contiguous part): what lies before and after stays
    /// open under the same token and lease; the part is left for the caller
    /// to record.
    static func carve(
        _ bounds: PostgresLogKey.Bounds, ids: Int, outOf range: PostgresRange, on connection: PostgresConnection, logger: Logger
    ) async throws -> PostgresLogKey.Bounds {
        let meter = range.meter
        let within = try await count(meter: meter, from: bounds.low, to: bounds.high, atMost: range.events + 1, on: connection, logger: logger)
        try RangeCarving.checkContiguous(named: ids, between: within)
        try await delete(range, on: connection, logger: logger)
        var before = 0
        if bounds.low > range.first, let left = try await neighbour(of: bounds.low, before: true, meter: meter, on: connection, logger: logger) {
            before = try await count(meter: meter, from: range.first, to: left, atMost: range.events, on: connection, logger: logger)
            try await insert(
                meter, range.first, left, events: before, token: range.token, lease: range.leaseUntil, settled: false, on: connection, logger: logger)
        }
        let after = RangeCarving.remainders(rangeEvents: range.events, before: before, part: within).after
        if after > 0, let right = try await neighbour(of: bounds.high, before: false, meter: meter, on: connection, logger: logger) {
            try await insert(
                meter, right, range.last, events: after, token: range.token, lease: range.leaseUntil, settled: false, on: connection, logger: logger)
        }
        return PostgresLogKey.Bounds(count: within, low: bounds.low, high: bounds.high)
    }

    /// The open ranges `token` holds of `meter`, locked.
    static func openRanges(of token: ClaimToken, meter: String, on connection: PostgresConnection, logger: Logger) async throws -> [PostgresRange] {
        var ranges: [PostgresRange] = []
        for try await (fx, fi, lx, li, events, lease) in try await connection.query(
            """
            SELECT first_xact, first_id, last_xact, last_id, events, lease_until FROM outbox_ranges
            WHERE meter = \(meter) AND token = \(token.value) AND settled_at IS NULL FOR UPDATE
            """, logger: logger
        ).decode((Int64, Int64, Int64, Int64, Int32, Int64?).self) {
            ranges.append(
                PostgresRange(
                    meter: meter, first: PostgresLogKey(xact: fx, id: fi), last: PostgresLogKey(xact: lx, id: li),
                    events: Int(events), token: token.value, leaseUntil: lease))
        }
        return ranges
    }

    /// Gives back exactly `rowIDs` of `token`'s open ranges of `meter`, due
    /// at once (the rest stays claimed): a part at the meter's position
    /// moves the position back; any other part's events become pending
    /// retry rows. Returns the events released.
    static func release(_ rowIDs: [Int64], token: ClaimToken, meter: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let ranges = try await openRanges(of: token, meter: meter, on: connection, logger: logger)
        guard !ranges.isEmpty else { return 0 }
        let keys = try await keys(of: rowIDs, on: connection, logger: logger)
        var released = 0
        let pending = Int16(EventState.pending.rawValue)
        for range in RangeCarving.releaseOrder(ranges) {
            let inside = keys.filter(range.contains)
            guard let low = inside.first, let high = inside.last else { continue }
            let part = try await carve(
                PostgresLogKey.Bounds(count: inside.count, low: low, high: high), ids: inside.count, outOf: range, on: connection, logger: logger)
            let position = try await lockPosition(meter: meter, on: connection, logger: logger)
            switch RangeCarving.release(partEndingAt: part.high, position: position) {
            case .positionMovesBack:
                let back = try await neighbour(of: part.low, before: true, meter: meter, on: connection, logger: logger) ?? .start
                try await connection.query(
                    "UPDATE outbox_positions SET claimed_xact = \(back.xact), claimed_id = \(back.id) WHERE meter = \(meter)", logger: logger)
            case .retryRowsDueNow:
                try await connection.query(
                    """
                    INSERT INTO outbox_retries (id, meter, state, attempts, due_at, updated_at)
                    SELECT id, meter, \(pending), 0, \(unescaped: PostgresOutbox.serverNow), \(unescaped: PostgresOutbox.serverNow) FROM (
                        SELECT id, meter FROM outbox_log
                        WHERE meter = \(meter) AND (xact, id) >= (\(part.low.xact), \(part.low.id)) AND (xact, id) <= (\(part.high.xact), \(part.high.id))
                        ORDER BY xact, id LIMIT \(part.count)) AS events
                    """, logger: logger)
                try await insert(meter, part.low, part.high, events: part.count, token: nil, lease: nil, settled: true, on: connection, logger: logger)
            }
            released += part.count
        }
        var change = StateCounts()
        change.move(released, from: .inflight, to: .pending)
        try await PostgresOutbox.adjust(change, meter: meter, on: connection, logger: logger)
        return released
    }
}
