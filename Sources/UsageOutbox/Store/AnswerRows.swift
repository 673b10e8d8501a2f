import OutboxCore

/// Each event's history of answers (`outbox_answers`) on SQLite: written
/// by failed, deferred and dead settlements (`AnswerHistory` decides
/// which), trimmed to the last `AnswerHistory.limit` per event, deleted
/// when the event is sent from a retry row or its dead letter is purged.
enum AnswerRows {
    /// Appends each entry as its event's next answer (the `now` of the
    /// store's clock), and trims that event's history to the limit: two
    /// seeks on the primary key per entry.
    static func append(_ entries: [AnswerHistory.Entry], now: Int64, on connection: SQLiteConnection) throws {
        guard !entries.isEmpty else { return }
        let insert = try connection.cached(
            """
            INSERT INTO outbox_answers (id, n, at, status, request_id, reason)
            VALUES (?1, coalesce((SELECT max(n) FROM outbox_answers WHERE id = ?1), 0) + 1, ?2, ?3, ?4, ?5)
            """)
        let trim = try connection.cached(
            "DELETE FROM outbox_answers WHERE id = ?1 AND n <= (SELECT max(n) FROM outbox_answers WHERE id = ?1) - ?2")
        defer {
            insert.reset()
            trim.reset()
        }
        for entry in entries {
            try insert.bind(entry.rowID, at: 1)
            try insert.bind(now, at: 2)
            try insert.bind(entry.status.map(Int64.init), at: 3)
            try insert.bind(entry.requestID, at: 4)
            try insert.bind(entry.reason, at: 5)
            try insert.run()
            insert.reset()
            try trim.bind(entry.rowID, at: 1)
            try trim.bind(AnswerHistory.limit, at: 2)
            try trim.run()
            trim.reset()
        }
    }

    /// Deletes the histories of these events.
    static func delete(_ rowIDs: [Int64], on connection: SQLiteConnection) throws {
        guard !rowIDs.isEmpty else { return }
        try connection.execute("DELETE FROM outbox_answers WHERE id IN (SELECT value FROM json_each(?1))", .text(Outbox.jsonArray(rowIDs)))
    }

    /// The histories of these events, oldest answer first.
    static func of(_ rowIDs: [Int64], on connection: SQLiteConnection) throws -> [Int64: [EventAnswer]] {
        guard !rowIDs.isEmpty else { return [:] }
        let statement = try connection.cached(
            """
            SELECT id, at, status, request_id, reason FROM outbox_answers
            WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id, n
            """)
        defer { statement.reset() }
        try statement.bind(Outbox.jsonArray(rowIDs), at: 1)
        var histories: [Int64: [EventAnswer]] = [:]
        while try statement.step() {
            histories[statement.int64(0), default: []].append(
                EventAnswer(
                    at: statement.int64(1), status: statement.optionalInt64(2).map { Int($0) }, requestID: statement.optionalString(3),
                    reason: statement.string(4)))
        }
        return histories
    }
}
