import Logging
import OutboxCore
import PostgresNIO

/// `DispatchStore` on PostgreSQL: delivery tracked like a log, as on
/// SQLite. A claim hands out the next range of a meter's events under a
/// short lock on the meter's position row, and only events below the
/// horizon of finished transactions (see `PostgresRangeClaims`); events
/// that wait for a retry have rows of their own, claimed with
/// `FOR UPDATE SKIP LOCKED`. Every time written here is the server's
/// (`serverNow`), so a host whose clock runs ahead cannot take over live
/// claims, and every write that acts on a claim is fenced by its token.
extension PostgresOutbox {
    /// The server's clock in unix milliseconds. `clock_timestamp()`, not
    /// `now()`: a transaction's start time would make a lease taken late in
    /// a long transaction shorter than asked.
    static let serverNow = "(extract(epoch from clock_timestamp()) * 1000)::bigint"

    package func metersWithWork() async throws -> [String] {
        try await read { connection in try await Self.metersWithWork(connection, logger: logger) }
    }

    package func outboxID() async throws -> String {
        try await read { connection in
            for try await id in try await connection.query("SELECT outbox_id FROM outbox_identity WHERE singleton = 1", logger: logger).decode(String.self) {
                return id
            }
            throw OutboxError(
                .corrupt, "the outbox has no id (its outbox_identity table is empty, which only a damaged schema can be): restore it from a backup")
        }
    }

    static func metersWithWork(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        MeterBacklog.metersWithWork(try await meterBacklogs(connection, logger: logger))
    }

    /// Every meter's undelivered counters (its shards summed) and pause
    /// flag (`MeterBacklog`).
    static func meterBacklogs(_ connection: PostgresConnection, logger: Logger) async throws -> [MeterBacklog] {
        var backlogs: [MeterBacklog] = []
        for try await (meter, pending, inflight, failed, paused) in try await connection.query(
            """
            SELECT c.meter, sum(c.pending)::bigint, sum(c.inflight)::bigint, sum(c.failed)::bigint, coalesce(bool_or(m.paused), false)
            FROM outbox_meter_counters c LEFT JOIN outbox_meters m ON m.meter = c.meter
            GROUP BY c.meter
            """, logger: logger
        ).decode((String, Int64, Int64, Int64, Bool).self) {
            backlogs.append(
                MeterBacklog(meter: meter, counts: StateCounts(pending: Int(pending), inflight: Int(inflight), failed: Int(failed)), paused: paused))
        }
        return backlogs
    }

    /// Takes, in one transaction, the meter's next events in `ClaimSource`'s
    /// order (a lapsed range, else due retry rows, else a new range), cut at
    /// the byte budget (`ClaimBudget`).
    ///
    /// Events that a write transaction still running holds back (see
    /// `PostgresRangeClaims.horizon`) are waited for, briefly: they become
    /// claimable as soon as the older transactions end.
    package func claim(meter: String, owner: String, limit: Int, maxBytes: Int, leaseMilliseconds: Int64) async throws -> Claim? {
        let token = ClaimToken.make(owner: owner)
        var pause: Duration = .milliseconds(2)
        var waited: Duration = .zero
        while true {
            let outcome = try await transaction { connection -> ClaimOutcome in
                // Paused since the meter was picked: leave it alone.
                if try await Self.isPaused(meter, on: connection, logger: logger) { return .nothing(heldBack: false) }
                var heldBack = false
                for place in ClaimSource.order {
                    switch place {
                    case .lapsedRange:
                        if let taken = try await PostgresRangeClaims.takeOverLapsed(
                            meter: meter, token: token, budget: ClaimBudget(limit: limit, maxBytes: maxBytes), leaseMilliseconds: leaseMilliseconds,
                            on: connection, logger: logger)
                        {
                            return .events(taken, mayHaveBeenSent: ClaimSource.lapsedRange.mayHaveBeenSent)
                        }
                    case .dueRetries:
                        let (retries, group) = try await PostgresRetryClaims.claim(
                            meter: meter, token: token, limit: limit, maxBytes: maxBytes, leaseMilliseconds: leaseMilliseconds, on: connection,
                            logger: logger)
                        if !retries.isEmpty { return .events(retries, mayHaveBeenSent: ClaimSource.dueRetries(group).mayHaveBeenSent) }
                    case .nextRange:
                        switch try await PostgresRangeClaims.claimNext(
                            meter: meter, token: token, limit: limit, maxBytes: maxBytes, leaseMilliseconds: leaseMilliseconds, on: connection,
                            logger: logger)
                        {
                        case .claimed(let range): return .range(range)
                        case .heldBack: heldBack = true
                        case .nothing: break
                        }
                    }
                }
                return .nothing(heldBack: heldBack)
            }
            let heldBack: Bool
            switch outcome {
            case .events(let events, let mayHaveBeenSent):
                return Claim(token: token, meter: meter, events: events, leaseMilliseconds: leaseMilliseconds, mayHaveBeenSent: mayHaveBeenSent)
            case .range(let range):
                // The range is ours, and the log's rows never change: read
                // the texts after the commit, off the position's lock.
                let events = try await read { connection in try await PostgresRangeClaims.events(of: range, on: connection, logger: logger) }
                return Claim(
                    token: token, meter: meter, events: events, leaseMilliseconds: leaseMilliseconds,
                    mayHaveBeenSent: ClaimSource.nextRange.mayHaveBeenSent)
            case .nothing(let held):
                heldBack = held
            }
            guard heldBack, waited < heldBackWait else { return nil }
            try await Task.sleep(for: pause)
            waited += pause
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    private enum ClaimOutcome: Sendable {
        case events([ClaimedEvent], mayHaveBeenSent: Bool)
        case range(PostgresRange)
        case nothing(heldBack: Bool)
    }

    package func renewLease(_ rowIDs: [Int64], token: ClaimToken, leaseMilliseconds: Int64) async throws -> Set<Int64> {
        try await transaction { connection in
            let ranges = try await PostgresRangeClaims.renew(token: token, leaseMilliseconds: leaseMilliseconds, on: connection, logger: logger)
            if !ranges.isEmpty {
                // The claim's events that its open ranges still hold.
                let keys = try await PostgresRangeClaims.keys(of: rowIDs, on: connection, logger: logger)
                return Set(keys.filter { key in ranges.contains { $0.first <= key && key <= $0.last } }.map(\.id))
            }
            return try await PostgresRetryClaims.renew(rowIDs, token: token, leaseMilliseconds: leaseMilliseconds, on: connection, logger: logger)
        }
    }

    package func settle(_ settlement: Settlement, token: ClaimToken) async throws -> SettlementResult {
        let record = settlement.record
        let status = record.status.map(Int32.init)
        return try await transaction { connection in
            let meter = settlement.meter
            let bounds = try await PostgresRangeClaims.bounds(of: settlement.rows.map(\.rowID), on: connection, logger: logger)
            let result: SettlementResult
            if let bounds, bounds.count == settlement.rows.count,
                let range = try await PostgresRangeClaims.openRange(
                    of: token, meter: meter, from: bounds.low, to: bounds.high, on: connection, logger: logger)
            {
                result = try await PostgresRangeClaims.settle(settlement, bounds: bounds, in: range, on: connection, logger: logger)
            } else {
                // Not one range of the claim: rows from retries, or a part of
                // which another dispatcher took some rows over (a lapsed
                // lease). Each range of the claim settles the rows it still
                // holds; the rest are retry rows, or lost.
                var rest = settlement
                var partial = SettlementResult()
                let ranges = try await PostgresRangeClaims.openRanges(of: token, meter: meter, on: connection, logger: logger)
                if !ranges.isEmpty {
                    let keys = try await PostgresRangeClaims.keys(of: settlement.rows.map(\.rowID), on: connection, logger: logger)
                    for range in ranges {
                        let inside = keys.filter(range.contains)
                        guard let low = inside.first, let high = inside.last else { continue }
                        let ids = Set(inside.map(\.id))
                        let part = rest.restricted { ids.contains($0.rowID) }
                        partial =
                            partial
                            + (try await PostgresRangeClaims.settle(
                                part, bounds: PostgresLogKey.Bounds(count: inside.count, low: low, high: high), in: range, on: connection, logger: logger))
                        rest = rest.restricted { !ids.contains($0.rowID) }
                    }
                }
                result = partial + (try await PostgresRetryClaims.settle(rest, token: token, on: connection, logger: logger))
            }
            if settlement.isSuccess {
                try await connection.query(
                    """
                    INSERT INTO outbox_meters (meter, last_success_at) VALUES (\(meter), \(unescaped: Self.serverNow))
                    ON CONFLICT (meter) DO UPDATE SET last_success_at = excluded.last_success_at
                    """, logger: logger)
            } else if let failure = settlement.meterFailure {
                try await connection.query(
                    """
                    INSERT INTO outbox_meters (meter, last_status, last_error, last_error_at)
                    VALUES (\(meter), \(status), \(failure), \(unescaped: Self.serverNow))
                    ON CONFLICT (meter) DO UPDATE SET last_status = excluded.last_status, last_error = excluded.last_error,
                        last_error_at = excluded.last_error_at
                    """, logger: logger)
            }
            return result
        }
    }

    package func release(_ rowIDs: [Int64], meter: String, token: ClaimToken) async throws -> Int {
        try await transaction { connection in
            let released = try await PostgresRangeClaims.release(rowIDs, token: token, meter: meter, on: connection, logger: logger)
            if released > 0 { return released }
            return try await PostgresRetryClaims.release(rowIDs, meter: meter, token: token, on: connection, logger: logger)
        }
    }

    /// How long until a meter has work (`NextDue` decides). Events past a
    /// meter's position that a transaction still running holds back count
    /// as held back, not ready.
    package func nextDueDelay() async throws -> Int64? {
        let meters = try await metersWithWork()
        return try await read { connection in
            var dueTimes: [MeterDueTimes] = []
            var now: Int64 = 0
            for meter in meters {
                for try await (unclaimed, final, lease, retry, serverNow) in try await connection.query(
                    """
                    WITH p AS (SELECT coalesce((SELECT claimed_xact FROM outbox_positions WHERE meter = \(meter)), 0) AS xact,
                                      coalesce((SELECT claimed_id FROM outbox_positions WHERE meter = \(meter)), 0) AS id),
                         next AS (SELECT l.xact FROM outbox_log l WHERE l.meter = \(meter) AND (l.xact, l.id) > ((SELECT xact FROM p), (SELECT id FROM p))
                                  ORDER BY l.xact, l.id LIMIT 1)
                    SELECT EXISTS (SELECT 1 FROM next),
                           coalesce((SELECT xact FROM next) < \(unescaped: PostgresRangeClaims.horizon), false),
                           (SELECT min(lease_until) FROM outbox_ranges WHERE meter = \(meter) AND settled_at IS NULL),
                           (SELECT min(due_at) FROM outbox_retries WHERE meter = \(meter)),
                           \(unescaped: Self.serverNow)
                    """, logger: logger
                ).decode((Bool, Bool, Int64?, Int64?, Int64).self) {
                    now = serverNow
                    dueTimes.append(
                        MeterDueTimes(
                            unclaimed: !unclaimed ? .none : final ? .ready : .heldBack, earliestLeaseLapse: lease, earliestRetryDue: retry))
                }
            }
            return NextDue.delay(dueTimes, now: now)
        }
    }

    package func undeliveredCount() async throws -> Int {
        try await backlog(paused: false)
    }

    package func pausedCount() async throws -> Int {
        try await backlog(paused: true)
    }

    private func backlog(paused: Bool) async throws -> Int {
        try await read { connection in
            MeterBacklog.undelivered(try await Self.meterBacklogs(connection, logger: logger), paused: paused)
        }
    }
}
