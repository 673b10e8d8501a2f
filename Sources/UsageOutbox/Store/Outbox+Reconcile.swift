/// Reconcile's reads and writes on SQLite: finding the sent events an audit
/// entry may name, and moving the late-rejected ones to dead.
extension Outbox {
    public func reconcileCandidates(_ query: ReconcileQuery) async throws -> [StoredEvent] {
        let ids = Outbox.jsonStrings(query.eventIDs)
        let customers = Outbox.jsonStrings(query.customers)
        // `$."field"`: the field name quoted, whatever it holds.
        let fieldPath = query.eventIdField.map { "$." + JSONValue.string($0).jsonText }
        return try await database.withConnection { connection in
            let statement = try connection.cached(
                """
                SELECT id, event_id, CAST(body AS TEXT), state FROM outbox_events
                WHERE meter = ?1 AND state IN (?5, ?6) AND (
                    event_id IN (SELECT value FROM json_each(?2))
                    OR (?3 IS NOT NULL AND json_extract(CAST(body AS TEXT), ?3) IN (SELECT value FROM json_each(?2)))
                    OR json_extract(CAST(body AS TEXT), '$.CustomerId') IN (SELECT value FROM json_each(?4)))
                ORDER BY id
                """)
            defer { statement.reset() }
            try statement.bind(query.meter, at: 1)
            try statement.bind(ids, at: 2)
            try statement.bind(fieldPath, at: 3)
            try statement.bind(customers, at: 4)
            try statement.bind(EventState.sent.rawValue, at: 5)
            try statement.bind(EventState.dead.rawValue, at: 6)
            var events: [StoredEvent] = []
            while try statement.step() {
                events.append(
                    StoredEvent(
                        rowID: statement.int64(0), eventID: statement.string(1), body: statement.string(2),
                        state: EventState(rawValue: statement.int64(3)) ?? .sent))
            }
            return events
        }
    }

    public func appliedAuditEntries(meter: String, traceIDs: [String]) async throws -> Set<String> {
        let ids = Outbox.jsonStrings(traceIDs)
        return try await database.withConnection { connection in
            let statement = try connection.cached(
                "SELECT trace_id FROM outbox_audit_applied WHERE meter = ?1 AND trace_id IN (SELECT value FROM json_each(?2))")
            defer { statement.reset() }
            try statement.bind(meter, at: 1)
            try statement.bind(ids, at: 2)
            var found = Set<String>()
            while try statement.step() { found.insert(statement.string(0)) }
            return found
        }
    }

    public func applyLateRejections(_ rejections: [LateRejection], meter: String, remember entries: [AppliedAuditEntry]) async throws -> Int {
        let clock = configuration.clock
        return try await database.write(isolated: false) { context in
            let connection = context.connection
            let now = clock.wallMilliseconds()
            var moved = 0
            let update = try connection.cached(
                """
                UPDATE outbox_events SET state = ?1, dead_at = ?2, updated_at = ?2, last_status = NULL, last_error = ?3, response_body = ?4
                WHERE id = ?5 AND meter = ?6 AND state = ?7
                """)
            for rejection in rejections {
                try update.bind(EventState.dead.rawValue, at: 1)
                try update.bind(now, at: 2)
                try update.bind(rejection.reason, at: 3)
                try update.bind(rejection.responseBody, at: 4)
                try update.bind(rejection.rowID, at: 5)
                try update.bind(meter, at: 6)
                try update.bind(EventState.sent.rawValue, at: 7)
                try update.run()
                moved += connection.changes
                update.resetKeepingBindings()
            }
            update.reset()
            let remember = try connection.cached("INSERT OR IGNORE INTO outbox_audit_applied (meter, trace_id, event_id, applied_at) VALUES (?1, ?2, ?3, ?4)")
            for entry in entries {
                try remember.bind(meter, at: 1)
                try remember.bind(entry.traceID, at: 2)
                try remember.bind(entry.eventID, at: 3)
                try remember.bind(now, at: 4)
                try remember.run()
                remember.resetKeepingBindings()
            }
            remember.reset()
            if moved > 0 { context.adjust(meter) { $0.move(moved, from: .sent, to: .dead) } }
            try connection.execute(
                "UPDATE outbox_meters SET late_rejected = late_rejected + ?1, last_reconciled_at = ?2 WHERE meter = ?3",
                .integer(Int64(moved)), .integer(now), .text(meter))
            return moved
        }
    }

    /// Strings as a JSON array, for `json_each(?)`.
    static func jsonStrings(_ values: [String]) -> String {
        JSONValue.array(values.map { .string($0) }).jsonText
    }
}
