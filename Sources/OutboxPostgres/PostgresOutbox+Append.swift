import Foundation
import Logging
import OutboxCore
import PostgresNIO

extension PostgresOutbox {
    /// Rows per INSERT: one `unnest` of two arrays inserts them all.
    static let insertChunk = 5000
    /// The advisory lock class appends of own ids to one meter take ("od").
    static let ownIDLockClass: Int32 = 0x6F64
    /// Bulk appends at least this large refresh the planner's statistics.
    static let analyzeAfter = 10_000

    /// Appends events given as JSON texts, all or none; durable on return.
    /// Concurrent appends are group-committed: one transaction and one
    /// multi-row INSERT per meter serve every append waiting at the time.
    /// Idempotent by id: with an event-id field set, an event whose own id
    /// the meter already holds is not appended again; its place in the
    /// result holds the id of the event already there.
    @discardableResult
    public func append(jsonEvents: [String], meter: String) async throws -> [EventID] {
        try await appendReporting(jsonEvents: jsonEvents, meter: meter).ids
    }

    /// Appends like `append(jsonEvents:meter:)`, and says which events were
    /// duplicates of an id the meter already holds.
    public func appendReporting(jsonEvents: [String], meter: String) async throws -> AppendResult {
        try MeterName.validate(meter)
        let rows = try rows(for: EventValidation.prepare(jsonEvents, eventIdField: eventIdField, maxEventBytes: maxEventBytes))
        let written = try await appends.submit(rows: rows, meter: meter) { groups in
            try await self.transaction { connection in
                var written = Written()
                // Meters in a fixed order: two transactions then take the
                // counter rows in the same order and cannot deadlock.
                for (meter, rows) in groups.sorted(by: { $0.0 < $1.0 }) {
                    written.merge(try await Self.insert(rows, meter: meter, on: connection, logger: self.logger), meter: meter)
                }
                return written
            }
        }
        notifyAppended()
        return written.result(for: rows, meter: meter)
    }

    /// The transactional outbox: appends inside the caller's own
    /// transaction on `connection` (after its `BEGIN`), so the events commit
    /// or roll back with the caller's business change. It wakes no
    /// dispatcher: the events are not claimable before that commit, which
    /// only the caller sees. In `write { }`, the wake-up follows the commit;
    /// in a transaction of the caller's own, the dispatcher's poll finds them.
    @discardableResult
    public func append(jsonEvents: [String], meter: String, on connection: PostgresConnection) async throws -> [EventID] {
        try await appendReporting(jsonEvents: jsonEvents, meter: meter, on: connection).ids
    }

    /// `append(jsonEvents:meter:on:)`, saying which events were duplicates.
    public func appendReporting(jsonEvents: [String], meter: String, on connection: PostgresConnection) async throws -> AppendResult {
        try MeterName.validate(meter)
        let rows = try rows(for: EventValidation.prepare(jsonEvents, eventIdField: eventIdField, maxEventBytes: maxEventBytes))
        var written = Written()
        do {
            written.merge(try await Self.insert(rows, meter: meter, on: connection, logger: logger), meter: meter)
        } catch {
            throw translate(error)
        }
        return written.result(for: rows, meter: meter)
    }

    public func append(_ event: UsageEvent, meter: String, on connection: PostgresConnection) async throws -> EventID {
        try await append(jsonEvents: [event.jsonText], meter: meter, on: connection)[0]
    }

    /// Streams an input (object, array or NDJSON) into one transaction, in
    /// multi-row INSERTs of 5,000; any invalid event rolls all of it back.
    /// An input that is not a regular file (a pipe) is read and validated to
    /// its end into a spool first: a transaction held open while a slow
    /// producer writes would hold back the horizon, and with it every claim
    /// of newer events on the server.
    public func appendStreamReporting(fileDescriptor: Int32, meter: String, progress: (@Sendable (Int, Int) -> Void)?) async throws
        -> AppendCounts
    {
        try MeterName.validate(meter)
        let source: StreamSource
        if EventSpool.isRegularFile(fileDescriptor) {
            source = .file(EventInput(fileDescriptor: fileDescriptor, eventIdField: eventIdField, maxEventBytes: maxEventBytes))
        } else {
            source = .spool(
                SendableSpool(
                    spool: try await EventSpool.collect(
                        fileDescriptor: fileDescriptor, eventIdField: eventIdField, maxEventBytes: maxEventBytes, progress: progress)))
        }
        let eventIdField = self.eventIdField
        let ids = self.ids
        let ownIDField = eventIdField.map { Array($0.utf8) }
        let counts: AppendCounts = try await transaction { connection in
            var total = 0
            var duplicates = 0
            func insert(_ chunk: [Row]) async throws {
                let inserted = try await Self.insertRows(chunk, meter: meter, on: connection, logger: self.logger)
                total += inserted.count
                duplicates += chunk.count - inserted.count
            }
            func row(_ bytes: UnsafeBufferPointer<UInt8>, _ hasEventIdField: Bool) -> Row {
                let id = ids.next()
                return Row(
                    id: id, body: EventBody.stored(bytes, hasEventIdField: hasEventIdField, eventIdField: eventIdField, id: id),
                    ownID: hasEventIdField ? ownIDField.flatMap { EventOwnID.value(in: bytes, field: $0) } : nil)
            }
            switch source {
            case .file(let input):
                while true {
                    var chunk: [Row] = []
                    chunk.reserveCapacity(Self.insertChunk)
                    let more = try input.read(limit: Self.insertChunk) { bytes, hasEventIdField in chunk.append(row(bytes, hasEventIdField)) }
                    if input.problemCount == 0, !chunk.isEmpty { try await insert(chunk) }
                    progress?(input.bytesConsumed, input.eventsSeen)
                    if !more { break }
                }
                if let error = input.finalError() { throw error }
            case .spool(let box):
                // Validated already: read back a chunk at a time (local and fast).
                var reader = try box.spool.reader()
                var more = true
                while more {
                    var chunk: [Row] = []
                    chunk.reserveCapacity(Self.insertChunk)
                    more = try reader.next(limit: Self.insertChunk) { bytes, hasEventIdField in chunk.append(row(bytes, hasEventIdField)) }
                    if !chunk.isEmpty { try await insert(chunk) }
                }
            }
            try await Self.adjust(StateCounts(appended: total, pending: total), meter: meter, on: connection, logger: self.logger)
            return AppendCounts(appended: total, duplicates: duplicates)
        }
        if counts.appended >= Self.analyzeAfter {
            // A big load changes the table faster than autovacuum re-plans it:
            // without fresh statistics the claim may be planned as a scan.
            try? await read { connection in _ = try await connection.query("ANALYZE outbox_log", logger: self.logger) }
        }
        notifyAppended()
        return counts
    }

    /// Where a streamed append reads from: the file itself, or the spool a
    /// pipe was read into first.
    private enum StreamSource: @unchecked Sendable {
        case file(EventInput)
        case spool(SendableSpool)
    }

    struct Row: Sendable {
        let id: EventID
        let body: String
        /// The id the event carries itself (its event-id field), if any.
        let ownID: String?
    }

    /// What one transaction of appends wrote: the generated ids of the rows
    /// inserted, and for each meter the event ids held under the own ids
    /// that were refused as duplicates.
    struct Written: Sendable {
        var inserted: Set<String> = []
        /// Keyed by the own id's bytes: Swift's `String` equality would take
        /// two ids the database keeps apart (NFC, NFD) for one.
        var held: [String: [[UInt8]: String]] = [:]

        mutating func merge(_ other: MeterWrite, meter: String) {
            inserted.formUnion(other.inserted)
            held[meter, default: [:]].merge(other.held) { first, _ in first }
        }

        /// `rows`' part of it.
        func result(for rows: [Row], meter: String) -> AppendResult {
            var ids: [EventID] = []
            var duplicates: [Int] = []
            ids.reserveCapacity(rows.count)
            for (position, row) in rows.enumerated() {
                if inserted.contains(row.id.value) {
                    ids.append(row.id)
                } else {
                    // Refused as held: the held event's id (the event was
                    // never stored under the id generated for it).
                    // (A held event purged between the insert and the read
                    // of its id is not found: then the id generated for the
                    // duplicate stands in its place, naming nothing.)
                    ids.append(row.ownID.flatMap { held[meter]?[Array($0.utf8)] }.flatMap(EventID.init) ?? row.id)
                    duplicates.append(position)
                }
            }
            return AppendResult(ids: ids, duplicatePositions: duplicates)
        }
    }

    /// What the inserts of one meter wrote.
    struct MeterWrite: Sendable {
        var inserted: Set<String>
        var held: [[UInt8]: String]
    }

    private func rows(for events: [PreparedEvent]) -> [Row] {
        let ownIDField = eventIdField.map { Array($0.utf8) }
        return events.map { event in
            let id = ids.next()
            return event.withBytes { bytes in
                Row(
                    id: id, body: EventBody.stored(bytes, hasEventIdField: event.hasIdField, eventIdField: eventIdField, id: id),
                    ownID: event.hasIdField ? ownIDField.flatMap { EventOwnID.value(in: bytes, field: $0) } : nil)
            }
        }
    }

    static func insert(_ rows: [Row], meter: String, on connection: PostgresConnection, logger: Logger) async throws -> MeterWrite {
        var start = 0
        var inserted: Set<String> = []
        while start < rows.count {
            let end = min(rows.count, start + insertChunk)
            inserted.formUnion(try await insertRows(Array(rows[start..<end]), meter: meter, on: connection, logger: logger))
            start = end
        }
        try await adjust(StateCounts(appended: inserted.count, pending: inserted.count), meter: meter, on: connection, logger: logger)
        // The events already held under the refused own ids.
        let refused = rows.compactMap { inserted.contains($0.id.value) ? nil : $0.ownID }
        var held: [[UInt8]: String] = [:]
        if !refused.isEmpty {
            for try await (ownID, eventID) in try await connection.query(
                "SELECT own_id, event_id FROM outbox_log WHERE meter = \(meter) AND own_id = ANY(\(refused)::text[])", logger: logger
            ).decode((String, String).self) {
                held[Array(ownID.utf8)] = eventID
            }
        }
        return MeterWrite(inserted: inserted, held: held)
    }

    /// One INSERT for all `rows`: array parameters unnested server-side.
    /// Returns the generated ids of the rows inserted: a row whose own id
    /// the meter already holds (before, or earlier in `rows`) is skipped.
    static func insertRows(_ rows: [Row], meter: String, on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        let eventIDs = rows.map(\.id.value)
        let bodies = rows.map(\.body)
        // Stamped by the server's clock, the clock status compares with;
        // `xact` is this transaction's (the log's order, PostgresLogEpoch).
        guard rows.contains(where: { $0.ownID != nil }) else {
            try await connection.query(
                """
                INSERT INTO outbox_log (xact, event_id, meter, body, created_at)
                SELECT c.xact, e, \(meter), b, c.now
                FROM unnest(\(eventIDs)::text[], \(bodies)::text[]) AS u(e, b),
                     (SELECT \(unescaped: serverNow) AS now, \(unescaped: PostgresLogEpoch.appendingXact) AS xact) AS c
                """, logger: logger)
            return Set(eventIDs)
        }
        // Two transactions inserting the same own ids in other orders would
        // wait for each other on the unique index (a deadlock): appends of
        // own ids to one meter take turns instead.
        try await connection.query("SELECT pg_advisory_xact_lock(\(Self.ownIDLockClass), hashtext(\(meter)))", logger: logger)
        // Rows in input order (`WITH ORDINALITY`): of two with one own id,
        // the first is kept. No own id is empty (`EventOwnID`): '' stands
        // for none.
        let ownIDs = rows.map { $0.ownID ?? "" }
        var inserted: Set<String> = []
        for try await eventID in try await connection.query(
            """
            INSERT INTO outbox_log (xact, event_id, meter, body, created_at, own_id)
            SELECT c.xact, e, \(meter), b, c.now, NULLIF(o, '')
            FROM unnest(\(eventIDs)::text[], \(bodies)::text[], \(ownIDs)::text[]) WITH ORDINALITY AS u(e, b, o, n),
                 (SELECT \(unescaped: serverNow) AS now, \(unescaped: PostgresLogEpoch.appendingXact) AS xact) AS c
            ORDER BY n
            ON CONFLICT (meter, own_id) WHERE own_id IS NOT NULL DO NOTHING
            RETURNING event_id
            """, logger: logger
        ).decode(String.self) {
            inserted.insert(eventID)
        }
        return inserted
    }
}
