import Logging
import OutboxCore
import PostgresNIO

/// Each event's history of answers (`outbox_answers`) on PostgreSQL:
/// written by failed, deferred and dead settlements (`AnswerHistory`
/// decides which), trimmed to the last `AnswerHistory.limit` per event,
/// deleted when the event is sent from a retry row or its dead letter is
/// purged. Each is one statement, its rows unnested from arrays.
enum PostgresAnswerRows {
    /// Appends each entry as its event's next answer (the server's clock),
    /// then trims those events' histories to the limit. The entries name
    /// each event once, and only the claim that holds an event settles it,
    /// so two transactions never append to one history at once.
    static func append(_ entries: [AnswerHistory.Entry], on connection: PostgresConnection, logger: Logger) async throws {
        guard !entries.isEmpty else { return }
        let ids = entries.map(\.rowID)
        // Arrays cannot hold NULL here: a flag says which there are.
        let statuses = entries.map { Int32(clamping: $0.status ?? 0) }
        let hasStatus = entries.map { $0.status != nil }
        let requestIDs = entries.map { $0.requestID ?? "" }
        let hasRequestID = entries.map { $0.requestID != nil }
        let reasons = entries.map(\.reason)
        try await connection.query(
            """
            INSERT INTO outbox_answers (id, n, at, status, request_id, reason)
            SELECT p.id, coalesce((SELECT max(a.n) FROM outbox_answers a WHERE a.id = p.id), 0) + 1, c.now,
                   CASE WHEN p.has_status THEN p.status END, CASE WHEN p.has_request_id THEN p.request_id END, p.reason
            FROM unnest(\(ids)::bigint[], \(statuses)::integer[], \(hasStatus)::boolean[], \(requestIDs)::text[], \(hasRequestID)::boolean[],
                        \(reasons)::text[]) AS p(id, status, has_status, request_id, has_request_id, reason),
                 (SELECT \(unescaped: PostgresOutbox.serverNow) AS now) AS c
            ON CONFLICT DO NOTHING
            """, logger: logger)
        try await connection.query(
            """
            DELETE FROM outbox_answers a USING (SELECT DISTINCT unnest(\(ids)::bigint[]) AS id) AS p
            WHERE a.id = p.id AND a.n <= (SELECT max(b.n) FROM outbox_answers b WHERE b.id = p.id) - \(Int32(AnswerHistory.limit))
            """, logger: logger)
    }

    /// Deletes the histories of these events.
    static func delete(_ ids: [Int64], on connection: PostgresConnection, logger: Logger) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query("DELETE FROM outbox_answers WHERE id = ANY(\(ids))", logger: logger)
    }

    /// The histories of these events, oldest answer first.
    static func of(_ ids: [Int64], on connection: PostgresConnection, logger: Logger) async throws -> [Int64: [EventAnswer]] {
        guard !ids.isEmpty else { return [:] }
        var histories: [Int64: [EventAnswer]] = [:]
        for try await (id, at, status, requestID, reason) in try await connection.query(
            "SELECT id, at, status, request_id, reason FROM outbox_answers WHERE id = ANY(\(ids)) ORDER BY id, n", logger: logger
        ).decode((Int64, Int64, Int32?, String?, String).self) {
            histories[id, default: []].append(EventAnswer(at: at, status: status.map(Int.init), requestID: requestID, reason: reason))
        }
        return histories
    }
}
