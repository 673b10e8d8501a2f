import OutboxCore

/// The rows of their own that events get when they do not simply go out:
/// a retry row (`outbox_retries`) or a dead letter (`outbox_dead`), and
/// the answer in their history (`AnswerRows`). Sent events get none.
enum ExceptionRows {
    /// Writes the retried and dead events of a settlement of a range.
    static func write(_ settlement: Settlement, now: Int64, on connection: SQLiteConnection) throws {
        let record = settlement.record
        for row in settlement.rows {
            switch row.outcome {
            case .sent:
                continue
            case .retry(let delay, let attempts):
                try connection.execute(
                    """
                    INSERT INTO outbox_retries (id, meter, state, attempts, due_at, last_status, last_error, track_id, updated_at, key_seed, unanswered_key, tries)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, coalesce(?10, 0), ?11, ?12)
                    """, .integer(row.rowID), .text(settlement.meter), .integer(EventState.failed.rawValue), .integer(Int64(attempts)),
                    .integer(now + delay), status(record), text(settlement.meterFailure), text(record.trackID), .integer(now),
                    newKeySeed(settlement.keys), unansweredKey(settlement.keys), .integer(Int64(row.tries)))
            case .dead(let reason, _):
                try insertDead(row.rowID, meter: settlement.meter, tries: row.tries, reason: reason, record: record, now: now, on: connection)
            }
        }
        try AnswerRows.append(AnswerHistory.entries(of: settlement), now: now, on: connection)
    }

    /// A dead letter for an event of the log; `tries` (the requests that
    /// carried it) is what it shows as its attempts.
    static func insertDead(
        _ id: Int64, meter: String, tries: Int, reason: String, record: Settlement.Record, now: Int64,
        on connection: SQLiteConnection
    ) throws {
        try connection.execute(
            """
            INSERT INTO outbox_dead (id, meter, event_id, attempts, last_status, reason, response_body, track_id, request_id, dead_at, updated_at)
            SELECT id, meter, event_id, ?2, ?3, ?4, ?5, ?6, ?8, ?7, ?7 FROM outbox_log WHERE id = ?1
            """, .integer(id), .integer(Int64(tries)), status(record), .text(reason), text(record.responseBody), text(record.trackID), .integer(now),
            text(record.requestID))
    }

    /// The key seed a settlement gives its retry rows: NULL keeps the
    /// row's (a range's events have 0).
    static func newKeySeed(_ keys: RequestKeyChange) -> SQLiteValue {
        if case .answered(let seed) = keys { .integer(seed) } else { .null }
    }

    /// The unanswered key a settlement gives its retry rows: NULL keeps
    /// the row's, unless Zuora answered (then `newKeySeed` clears it).
    static func unansweredKey(_ keys: RequestKeyChange) -> SQLiteValue {
        if case .unanswered(let key) = keys { .text(key) } else { .null }
    }

    static func status(_ record: Settlement.Record) -> SQLiteValue {
        record.status.map { .integer(Int64($0)) } ?? .null
    }

    static func text(_ value: String?) -> SQLiteValue {
        value.map { .text($0) } ?? .null
    }
}
