extension Outbox {
    static let deadLetterColumns = """
        event_id, meter, CAST(body AS TEXT), last_status, coalesce(last_error, ''), attempts,
        response_body, track_id, created_at, updated_at, coalesce(dead_at, updated_at)
        """

    /// Dead letters, newest first.
    public func deadLetters(meter: String? = nil, deadBefore: Int64? = nil, limit: Int = 100) async throws -> [DeadLetter] {
        try await database.withConnection { connection in
            let statement = try connection.cached(
                """
                SELECT \(Outbox.deadLetterColumns) FROM outbox_events
                WHERE state = 4 AND (?1 IS NULL OR meter = ?1) AND (?2 IS NULL OR dead_at < ?2)
                ORDER BY dead_at DESC, id DESC LIMIT ?3
                """)
            defer { statement.reset() }
            try statement.bind(meter, at: 1)
            try statement.bind(deadBefore, at: 2)
            try statement.bind(limit, at: 3)
            var letters: [DeadLetter] = []
            while try statement.step() { letters.append(Outbox.deadLetter(from: statement)) }
            return letters
        }
    }

    /// One dead letter by id, or nil.
    public func deadLetter(id: String) async throws -> DeadLetter? {
        try await database.withConnection { connection in
            let statement = try connection.cached("SELECT \(Outbox.deadLetterColumns) FROM outbox_events WHERE state = 4 AND event_id = ?1")
            defer { statement.reset() }
            try statement.bind(id, at: 1)
            return try statement.step() ? Outbox.deadLetter(from: statement) : nil
        }
    }

    /// Puts dead letters back to pending with fresh attempts. Unknown ids
    /// throw `.unknownIDs` and change nothing.
    @discardableResult
    public func retryDeadLetters(_ selection: DeadLetterSelection) async throws -> Int {
        try await changeDeadLetters(selection) { connection, rowIDs, now in
            let statement = try connection.cached(
                """
                UPDATE outbox_events
                SET state = 0, attempts = 0, next_attempt_at = ?1, updated_at = ?1, dead_at = NULL, lease_owner = NULL
                WHERE id IN (SELECT value FROM json_each(?2)) AND state = 4
                """)
            try statement.bind(now, at: 1)
            try statement.bind(Outbox.jsonArray(rowIDs), at: 2)
            try statement.run()
            return StateCounts(pending: connection.changes, dead: -connection.changes)
        }
    }

    /// Deletes dead letters for good. Unknown ids throw `.unknownIDs` and
    /// change nothing.
    @discardableResult
    public func purgeDeadLetters(_ selection: DeadLetterSelection) async throws -> Int {
        try await changeDeadLetters(selection) { connection, rowIDs, _ in
            let statement = try connection.cached("DELETE FROM outbox_events WHERE id IN (SELECT value FROM json_each(?1)) AND state = 4")
            try statement.bind(Outbox.jsonArray(rowIDs), at: 1)
            try statement.run()
            return StateCounts(dead: -connection.changes, purged: connection.changes)
        }
    }

    /// Resolves the selection to row ids per meter inside one write
    /// transaction, checks every explicit id, then applies `change`.
    private func changeDeadLetters(
        _ selection: DeadLetterSelection,
        _ change: @escaping @Sendable (SQLiteConnection, [Int64], Int64) throws -> StateCounts
    ) async throws -> Int {
        try await database.write { context in
            let connection = context.connection
            let now = WallClock.nowMilliseconds()
            var rowsByMeter: [String: [Int64]] = [:]
            if selection.ids != nil {
                var lookup = DeadLetterLookup(selection)
                let statement = try connection.cached("SELECT id, meter FROM outbox_events WHERE state = 4 AND event_id = ?1")
                for id in lookup.wantedIDs {
                    try statement.bind(id, at: 1)
                    if try statement.step() { lookup.found(id: id, row: statement.int64(0), meter: statement.string(1)) }
                    statement.reset()
                }
                rowsByMeter = try lookup.rowsByMeter()
            } else {
                let statement = try connection.cached(
                    """
                    SELECT id, meter FROM outbox_events
                    WHERE state = 4 AND (?1 IS NULL OR meter = ?1) AND (?2 IS NULL OR dead_at < ?2)
                    """)
                try statement.bind(selection.meter, at: 1)
                try statement.bind(selection.deadBefore, at: 2)
                while try statement.step() { rowsByMeter[statement.string(1), default: []].append(statement.int64(0)) }
                statement.reset()
            }
            var total = 0
            for (meter, rowIDs) in rowsByMeter {
                let delta = try change(connection, rowIDs, now)
                context.adjust(meter) { $0 += delta }
                total += delta.purged + delta.pending
            }
            return total
        }
    }

    static func deadLetter(from statement: SQLiteStatement) -> DeadLetter {
        DeadLetter(
            id: statement.string(0), meter: statement.string(1), event: statement.string(2),
            status: statement.optionalInt64(3).map { Int($0) }, reason: statement.string(4), attempts: statement.int(5),
            responseBody: statement.optionalString(6), trackID: statement.optionalString(7),
            createdAt: statement.int64(8), updatedAt: statement.int64(9), deadAt: statement.int64(10))
    }
}
