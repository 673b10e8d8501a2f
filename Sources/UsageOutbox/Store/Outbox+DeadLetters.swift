extension Outbox {
    /// A dead letter's columns: its row in `outbox_dead`, the event's text
    /// and creation time from the log; last, the row's id.
    static let deadLetterColumns = """
        d.event_id, d.meter, CAST(l.body AS TEXT), d.last_status, d.reason, d.attempts,
        d.response_body, d.track_id, l.created_at, d.updated_at, d.dead_at, d.request_id, d.id
        FROM outbox_dead d JOIN outbox_log l ON l.id = d.id
        """

    /// The conditions of a `DeadLetterFilter` on `outbox_dead d`, bound by
    /// `bind(_:to:)` as ?1 to ?5.
    static let deadLetterSelection = """
        (?1 IS NULL OR d.meter = ?1) AND (?2 IS NULL OR d.dead_at < ?2) AND (?3 IS NULL OR d.dead_at >= ?3)
          AND (?4 IS NULL OR d.last_status = ?4) AND (?5 IS NULL OR instr(lower(d.reason), ?5) > 0)
        """

    static func bind(_ filter: DeadLetterFilter, to statement: SQLiteStatement) throws {
        try statement.bind(filter.meter, at: 1)
        try statement.bind(filter.deadBefore, at: 2)
        try statement.bind(filter.deadSince, at: 3)
        try statement.bind(filter.status.map(Int64.init), at: 4)
        // SQLite's lower() folds ASCII letters only (no ICU here), as the
        // needle was folded.
        try statement.bind(filter.reasonNeedle, at: 5)
    }

    /// Dead letters, newest first.
    public func deadLetters(meter: String? = nil, deadBefore: Int64? = nil, limit: Int = 100) async throws -> [DeadLetter] {
        try await deadLetters(DeadLetterFilter(meter: meter, deadBefore: deadBefore), limit: limit, withHistory: false)
    }

    /// The dead letters `filter` selects, newest first; with their
    /// histories when `withHistory` (one more query for all of them).
    public func deadLetters(_ filter: DeadLetterFilter, limit: Int = 100, withHistory: Bool = false) async throws -> [DeadLetter] {
        try await database.withConnection { connection in
            let statement = try connection.cached(
                """
                SELECT \(Outbox.deadLetterColumns)
                WHERE \(Outbox.deadLetterSelection)
                ORDER BY d.dead_at DESC, d.id DESC LIMIT ?6
                """)
            defer { statement.reset() }
            try Outbox.bind(filter, to: statement)
            try statement.bind(limit, at: 6)
            var letters: [(row: Int64, letter: DeadLetter)] = []
            while try statement.step() { letters.append((statement.int64(12), Outbox.deadLetter(from: statement))) }
            statement.reset()
            return try Outbox.withHistories(letters, withHistory, on: connection)
        }
    }

    /// One dead letter by id, with its history, or nil.
    public func deadLetter(id: String) async throws -> DeadLetter? {
        try await database.withConnection { connection in
            let statement = try connection.cached("SELECT \(Outbox.deadLetterColumns) WHERE d.event_id = ?1")
            defer { statement.reset() }
            try statement.bind(id, at: 1)
            guard try statement.step() else { return nil }
            let found = (row: statement.int64(12), letter: Outbox.deadLetter(from: statement))
            statement.reset()
            return try Outbox.withHistories([found], true, on: connection).first
        }
    }

    public func deadLetterIDs(startingWith prefix: String, meter: String? = nil, limit: Int = DeadLetterIDPrefix.candidatesShown + 1) async throws
        -> [String]
    {
        try await database.withConnection { connection in
            // A scan of the dead letters (not of the log): there are few,
            // and it runs once per command.
            let statement = try connection.cached(
                """
                SELECT event_id FROM outbox_dead
                WHERE substr(event_id, 1, length(?1)) = ?1 AND (?2 IS NULL OR meter = ?2)
                ORDER BY event_id LIMIT ?3
                """)
            defer { statement.reset() }
            try statement.bind(prefix, at: 1)
            try statement.bind(meter, at: 2)
            try statement.bind(limit, at: 3)
            var ids: [String] = []
            while try statement.step() { ids.append(statement.string(0)) }
            return ids
        }
    }

    /// The letters, with their histories filled in when `wanted`.
    static func withHistories(_ letters: [(row: Int64, letter: DeadLetter)], _ wanted: Bool, on connection: SQLiteConnection) throws -> [DeadLetter] {
        guard wanted else { return letters.map(\.letter) }
        let histories = try AnswerRows.of(letters.map(\.row), on: connection)
        return letters.map { found in
            var letter = found.letter
            letter.history = histories[found.row] ?? []
            return letter
        }
    }

    /// Puts dead letters back to pending with fresh attempts. Unknown ids
    /// throw `.unknownIDs` and change nothing.
    @discardableResult
    public func retryDeadLetters(_ selection: DeadLetterSelection) async throws -> Int {
        try await changeDeadLetters(selection) { connection, rowIDs, now in
            // Back among the events waiting to be sent, as a retry row of
            // its own: the event's place in the log has long been handed out.
            // Zuora answered the event before: a fresh key seed, so its next
            // request is not answered from Zuora's memory of an earlier one.
            // Fresh attempts for the retry limit; the tries go on counting.
            let ids = Outbox.jsonArray(rowIDs)
            try connection.execute(
                """
                INSERT INTO outbox_retries (id, meter, state, attempts, due_at, updated_at, key_seed, tries)
                SELECT id, meter, ?1, 0, ?2, ?2, random(), attempts FROM outbox_dead WHERE id IN (SELECT value FROM json_each(?3))
                """, .integer(EventState.pending.rawValue), .integer(now), .text(ids))
            let moved = connection.changes
            try connection.execute("DELETE FROM outbox_dead WHERE id IN (SELECT value FROM json_each(?1))", .text(ids))
            return StateCounts(pending: moved, dead: -moved)
        }
    }

    /// Deletes dead letters for good. Unknown ids throw `.unknownIDs` and
    /// change nothing.
    @discardableResult
    public func purgeDeadLetters(_ selection: DeadLetterSelection) async throws -> Int {
        let defects = configuration.injectedDefects
        return try await changeDeadLetters(selection) { connection, rowIDs, _ in
            let ids = Outbox.jsonArray(rowIDs)
            try connection.execute("DELETE FROM outbox_dead WHERE id IN (SELECT value FROM json_each(?1))", .text(ids))
            let purged = connection.changes
            try connection.execute("DELETE FROM outbox_log WHERE id IN (SELECT value FROM json_each(?1))", .text(ids))
            try AnswerRows.delete(rowIDs, on: connection)
            try Outbox.forgetHighWaterMark(if: .reuseIDsAfterDeadLetterPurge, in: defects, on: connection)
            return StateCounts(dead: -purged, purged: purged, purgedDead: purged)
        }
    }

    /// Resolves the selection to row ids per meter inside one write
    /// transaction, checks every explicit id, then applies `change`.
    private func changeDeadLetters(
        _ selection: DeadLetterSelection,
        _ change: @escaping @Sendable (SQLiteConnection, [Int64], Int64) throws -> StateCounts
    ) async throws -> Int {
        let clock = configuration.clock
        return try await database.write { context in
            let connection = context.connection
            let now = clock.wallMilliseconds()
            var rowsByMeter: [String: [Int64]] = [:]
            if selection.ids != nil {
                var lookup = DeadLetterLookup(selection)
                let statement = try connection.cached("SELECT id, meter FROM outbox_dead WHERE event_id = ?1")
                for id in lookup.wantedIDs {
                    try statement.bind(id, at: 1)
                    if try statement.step() { lookup.found(id: id, row: statement.int64(0), meter: statement.string(1)) }
                    statement.reset()
                }
                rowsByMeter = try lookup.rowsByMeter()
            } else {
                let statement = try connection.cached(
                    """
                    SELECT id, meter FROM outbox_dead
                    WHERE (?1 IS NULL OR meter = ?1) AND (?2 IS NULL OR dead_at < ?2)
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
            createdAt: statement.int64(8), updatedAt: statement.int64(9), deadAt: statement.int64(10), requestID: statement.optionalString(11))
    }
}
