import Foundation
import Logging
import OutboxCore
import PostgresNIO
import Synchronization

extension PostgresOutbox {
    /// Rows per INSERT: one `unnest` of two arrays inserts them all.
    static let insertChunk = 5000
    /// Bulk appends at least this large refresh the planner's statistics.
    static let analyzeAfter = 10_000

    /// Appends events given as JSON texts, all or none; durable on return.
    /// Concurrent appends are group-committed: one transaction and one
    /// multi-row INSERT per meter serve every append waiting at the time.
    @discardableResult
    public func append(jsonEvents: [String], meter: String) async throws -> [EventID] {
        try MeterName.validate(meter)
        let rows = try rows(for: EventValidation.prepare(jsonEvents, eventIdField: eventIdField, maxEventBytes: maxEventBytes))
        try await appends.submit(rows: rows, meter: meter) { groups in
            try await self.transaction { connection in
                // Meters in a fixed order: two transactions then take the
                // counter rows in the same order and cannot deadlock.
                for (meter, rows) in groups.sorted(by: { $0.0 < $1.0 }) {
                    try await Self.insert(rows, meter: meter, on: connection, logger: self.logger)
                }
            }
        }
        notifyAppended()
        return rows.map(\.id)
    }

    /// The transactional outbox: appends inside the caller's own
    /// transaction on `connection` (after its `BEGIN`), so the events commit
    /// or roll back with the caller's business change.
    @discardableResult
    public func append(jsonEvents: [String], meter: String, on connection: PostgresConnection) async throws -> [EventID] {
        try MeterName.validate(meter)
        let rows = try rows(for: EventValidation.prepare(jsonEvents, eventIdField: eventIdField, maxEventBytes: maxEventBytes))
        do {
            try await Self.insert(rows, meter: meter, on: connection, logger: logger)
        } catch {
            throw translate(error)
        }
        notifyAppended()
        return rows.map(\.id)
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
    public func appendStream(fileDescriptor: Int32, meter: String, progress: (@Sendable (Int, Int) -> Void)?) async throws -> Int {
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
        let appended: Int = try await transaction { connection in
            var total = 0
            func insert(_ chunk: [Row]) async throws {
                try await Self.insertRows(chunk, meter: meter, on: connection, logger: self.logger)
                total += chunk.count
            }
            func row(_ bytes: UnsafeBufferPointer<UInt8>, _ hasEventIdField: Bool) -> Row {
                let id = ids.next()
                return Row(id: id, body: EventBody.stored(bytes, hasEventIdField: hasEventIdField, eventIdField: eventIdField, id: id))
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
            return total
        }
        if appended >= Self.analyzeAfter {
            // A big load changes the table faster than autovacuum re-plans it:
            // without fresh statistics the claim may be planned as a scan.
            try? await read { connection in _ = try await connection.query("ANALYZE outbox_log", logger: self.logger) }
        }
        notifyAppended()
        return appended
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
    }

    private func rows(for events: [PreparedEvent]) -> [Row] {
        events.map { event in
            let id = ids.next()
            return Row(id: id, body: event.withBytes { EventBody.stored($0, hasEventIdField: event.hasIdField, eventIdField: eventIdField, id: id) })
        }
    }

    static func insert(_ rows: [Row], meter: String, on connection: PostgresConnection, logger: Logger) async throws {
        var start = 0
        while start < rows.count {
            let end = min(rows.count, start + insertChunk)
            try await insertRows(Array(rows[start..<end]), meter: meter, on: connection, logger: logger)
            start = end
        }
        try await adjust(StateCounts(appended: rows.count, pending: rows.count), meter: meter, on: connection, logger: logger)
    }

    /// One INSERT for all `rows`: two array parameters unnested server-side.
    static func insertRows(_ rows: [Row], meter: String, on connection: PostgresConnection, logger: Logger) async throws {
        let eventIDs = rows.map(\.id.value)
        let bodies = rows.map(\.body)
        // Stamped by the server's clock, the clock status compares with;
        // `xact` is this transaction's (the log's order, PostgresLogEpoch).
        try await connection.query(
            """
            INSERT INTO outbox_log (xact, event_id, meter, body, created_at)
            SELECT c.xact, e, \(meter), b, c.now
            FROM unnest(\(eventIDs)::text[], \(bodies)::text[]) AS u(e, b),
                 (SELECT \(unescaped: serverNow) AS now, \(unescaped: PostgresLogEpoch.appendingXact) AS xact) AS c
            """, logger: logger)
    }
}

/// Group commit for the PostgreSQL store: appends that arrive while a
/// transaction is being written wait, and the next transaction takes all of
/// them at once.
final class AppendBatcher: Sendable {
    typealias Flush = @Sendable ([(String, [PostgresOutbox.Row])]) async throws -> Void

    private struct Waiter {
        let meter: String
        let rows: [PostgresOutbox.Row]
        let continuation: CheckedContinuation<Void, Error>
    }

    private struct State {
        var waiting: [Waiter] = []
        var flushing = false
    }

    private let state = Mutex(State())

    func submit(rows: [PostgresOutbox.Row], meter: String, flush: @escaping Flush) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let start = state.withLock { state -> Bool in
                state.waiting.append(Waiter(meter: meter, rows: rows, continuation: continuation))
                if state.flushing { return false }
                state.flushing = true
                return true
            }
            if start { Task { await self.drain(flush) } }
        }
    }

    private func drain(_ flush: @escaping Flush) async {
        while true {
            let batch: [Waiter] = state.withLock { state in
                let batch = state.waiting
                state.waiting.removeAll()
                if batch.isEmpty { state.flushing = false }
                return batch
            }
            if batch.isEmpty { return }
            var groups: [String: [PostgresOutbox.Row]] = [:]
            for waiter in batch { groups[waiter.meter, default: []] += waiter.rows }
            do {
                try await flush(groups.map { ($0.key, $0.value) })
                for waiter in batch { waiter.continuation.resume() }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
    }
}
