import Logging
import OutboxCore
import PostgresNIO

/// The rows of their own that events get on PostgreSQL when they do not
/// simply go out: a retry row (`outbox_retries`) or a dead letter
/// (`outbox_dead`), and the answer in their history
/// (`PostgresAnswerRows`). Sent events get none. Each kind is one statement, its
/// rows unnested from arrays.
enum PostgresExceptionRows {
    /// Writes the retried and dead events of a settlement of a range.
    static func write(_ settlement: Settlement, on connection: PostgresConnection, logger: Logger) async throws {
        let columns = PostgresSettlementColumns(settlement)
        let record = settlement.record
        let status = record.status.map(Int32.init)
        if !columns.retryIDs.isEmpty {
            let failed = Int16(EventState.failed.rawValue)
            try await connection.query(
                """
                INSERT INTO outbox_retries (id, meter, state, attempts, due_at, last_status, last_error, track_id, updated_at, key_seed, unanswered_key, tries)
                SELECT p.id, \(settlement.meter), \(failed), p.attempts, c.now + p.delay, \(status), \(settlement.meterFailure), \(record.trackID), c.now,
                       coalesce(\(newKeySeed(settlement.keys))::bigint, 0), \(unansweredKey(settlement.keys))::text, p.tries
                FROM unnest(\(columns.retryIDs)::bigint[], \(columns.retryAttempts)::integer[], \(columns.retryDelays)::bigint[], \(columns.retryTries)::integer[])
                         AS p(id, attempts, delay, tries),
                     (SELECT \(unescaped: PostgresOutbox.serverNow) AS now) AS c
                """, logger: logger)
        }
        if !columns.deadIDs.isEmpty {
            try await insertDead(
                columns.deadIDs, tries: columns.deadTries, reasons: columns.deadReasons, record: record, on: connection, logger: logger)
        }
        try await PostgresAnswerRows.append(AnswerHistory.entries(of: settlement), on: connection, logger: logger)
    }

    /// A random key seed drawn by the server (a re-driven dead letter's).
    static let randomKeySeed = "(floor(random() * 9007199254740992) - 4503599627370496)::bigint"

    /// The key seed a settlement gives its retry rows: nil keeps the row's
    /// (a range's events have 0).
    static func newKeySeed(_ keys: RequestKeyChange) -> Int64? {
        if case .answered(let seed) = keys { seed } else { nil }
    }

    /// The unanswered key a settlement gives its retry rows: nil keeps the
    /// row's, unless Zuora answered (then `newKeySeed` clears it).
    static func unansweredKey(_ keys: RequestKeyChange) -> String? {
        if case .unanswered(let key) = keys { key } else { nil }
    }

    /// Dead letters for events of the log; returns the ids written. `tries`
    /// (the requests that carried each) is what each shows as its attempts.
    @discardableResult
    static func insertDead(
        _ ids: [Int64], tries: [Int32], reasons: [String], responseBodies: [String?]? = nil, record: Settlement.Record,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [Int64] {
        let bodies = responseBodies ?? Array(repeating: record.responseBody, count: ids.count)
        // Arrays cannot hold NULL here: a flag says which bodies there are.
        let bodyTexts = bodies.map { $0 ?? "" }
        let hasBody = bodies.map { $0 != nil }
        var written: [Int64] = []
        for try await id in try await connection.query(
            """
            INSERT INTO outbox_dead (id, meter, event_id, attempts, last_status, reason, response_body, track_id, request_id, dead_at, updated_at)
            SELECT l.id, l.meter, l.event_id, p.attempts, \(record.status.map(Int32.init)), p.reason, CASE WHEN p.has_body THEN p.body END,
                   \(record.trackID), \(record.requestID), c.now, c.now
            FROM unnest(\(ids)::bigint[], \(tries)::integer[], \(reasons)::text[], \(bodyTexts)::text[], \(hasBody)::boolean[])
                 AS p(id, attempts, reason, body, has_body)
                 JOIN outbox_log l ON l.id = p.id,
                 (SELECT \(unescaped: PostgresOutbox.serverNow) AS now) AS c
            RETURNING id
            """, logger: logger
        ).decode(Int64.self) {
            written.append(id)
        }
        return written
    }
}
