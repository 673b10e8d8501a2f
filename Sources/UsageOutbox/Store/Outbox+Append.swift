import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Appending: events given as values or JSON texts, and a whole input
/// stream (`outbox append` and large imports).
extension Outbox {
    /// Appends one event. Returns its id once the event is durable.
    @discardableResult
    public func append(_ event: UsageEvent, meter: String) async throws -> EventID {
        try await append(contentsOf: [event], meter: meter)[0]
    }

    /// Appends events, all or none. Returns their ids once they are durable.
    @discardableResult
    public func append(contentsOf events: [UsageEvent], meter: String) async throws -> [EventID] {
        try MeterName.validate(meter)
        return try await insert(
            try EventValidation.prepare(events, eventIdField: configuration.eventIdField, maxEventBytes: configuration.maxEventBytes), meter: meter
        ).ids
    }

    /// Appends one event given as JSON text, validated against the contract
    /// and stored exactly as given.
    @discardableResult
    public func append(json: String, meter: String) async throws -> EventID {
        try await append(jsonEvents: [json], meter: meter)[0]
    }

    /// Appends events given as JSON texts (one object each), all or none.
    /// Invalid events throw `OutboxError` with code `.invalidInput`, listing
    /// each one's position (counting from 1) and reason.
    ///
    /// Idempotent by id: with `eventIdField` set, an event whose own id the
    /// meter already holds is not appended again; its place in the result
    /// holds the id of the event already there (`appendReporting` says
    /// which events those were).
    @discardableResult
    public func append(jsonEvents: [String], meter: String) async throws -> [EventID] {
        try await appendReporting(jsonEvents: jsonEvents, meter: meter).ids
    }

    /// Appends like `append(jsonEvents:meter:)`, and says which events were
    /// duplicates of an id the meter already holds.
    public func appendReporting(jsonEvents: [String], meter: String) async throws -> AppendResult {
        try MeterName.validate(meter)
        return try await insert(
            try EventValidation.prepare(jsonEvents, eventIdField: configuration.eventIdField, maxEventBytes: configuration.maxEventBytes), meter: meter)
    }

    /// Group-commits events validated off the database thread.
    private func insert(_ events: [PreparedEvent], meter: String) async throws -> AppendResult {
        let eventIdField = configuration.eventIdField
        // Validated already: only the database itself can fail it, so it
        // needs no savepoint of its own.
        return try await database.write(isolated: false, gathers: true) { context in
            try OutboxTransaction.insert(events, meter: meter, eventIdField: eventIdField, into: context)
        }
    }

    // MARK: Streams

    /// Reads events from `fileDescriptor` (one JSON object, a JSON array of
    /// objects, or NDJSON) and appends them to `meter` in one transaction: all
    /// of them, or, when any is invalid, none (the error lists each invalid
    /// event's position and reason).
    ///
    /// The write lock is never held while waiting for input. A regular file
    /// is all there already, so it is parsed (on a thread of its own) while
    /// SQLite inserts. Any other input (a pipe, a socket, a terminal) is read
    /// and validated to its end first, into a temporary spool file, and only
    /// then inserted: a slow producer holds up nobody.
    ///
    /// NDJSON is streamed, so memory stays bounded whatever the input size; a
    /// JSON array or a pretty-printed object is read whole first. `progress`
    /// is called now and then with the bytes read and events seen. Returns
    /// how many events were appended, durable on return, and how many were
    /// duplicates of an id the meter already held (not appended).
    public func appendStreamReporting(
        fileDescriptor: Int32,
        meter: String,
        progress: (@Sendable (_ bytesRead: Int, _ events: Int) -> Void)? = nil
    ) async throws -> AppendCounts {
        try MeterName.validate(meter)
        let appended: AppendCounts
        if EventSpool.isRegularFile(fileDescriptor) {
            appended = try await appendParsingWhileInserting(fileDescriptor: fileDescriptor, meter: meter, progress: progress)
        } else {
            let spool = try await EventSpool.collect(
                fileDescriptor: fileDescriptor, eventIdField: configuration.eventIdField, maxEventBytes: configuration.maxEventBytes, progress: progress)
            appended = try await insertSpooled(spool, meter: meter)
        }
        notifyAppended()
        return appended
    }

    private func appendParsingWhileInserting(
        fileDescriptor: Int32, meter: String,
        progress: (@Sendable (Int, Int) -> Void)?
    ) async throws -> AppendCounts {
        let (eventIdField, maxEventBytes) = (configuration.eventIdField, configuration.maxEventBytes)
        let ids = database.ids
        return try await database.withConnection { connection in
            // Parsing runs on its own thread, a few chunks ahead of the inserts.
            let input = EventInput(fileDescriptor: fileDescriptor, eventIdField: eventIdField, maxEventBytes: maxEventBytes)
            let parsed = ParallelEventInput(input, progress: progress)
            defer { parsed.stop() }
            return try connection.writeTransaction {
                var inserter = try EventInserter(connection: connection, meter: meter, eventIdField: eventIdField, ids: ids)
                while let chunk = try parsed.next() {
                    try chunk.forEach { bytes, hasEventIdField in
                        try inserter.insertWithoutID(bytes, hasEventIdField: hasEventIdField)
                    }
                }
                // The input is read to its end: `input` is this thread's again.
                if let error = input.finalError() { throw error }
                try MeterCounters.apply(StateCounts(appended: inserter.count, pending: inserter.count), to: meter, on: connection)
                return AppendCounts(appended: inserter.count, duplicates: inserter.duplicates)
            }
        }
    }

    private func insertSpooled(_ spool: EventSpool, meter: String) async throws -> AppendCounts {
        let eventIdField = configuration.eventIdField
        let ids = database.ids
        let box = SendableSpool(spool: spool)
        return try await database.withConnection { connection in
            try connection.writeTransaction {
                var inserter = try EventInserter(connection: connection, meter: meter, eventIdField: eventIdField, ids: ids)
                try box.spool.forEach { bytes, hasEventIdField in
                    try inserter.insertWithoutID(bytes, hasEventIdField: hasEventIdField)
                }
                try MeterCounters.apply(StateCounts(appended: inserter.count, pending: inserter.count), to: meter, on: connection)
                return AppendCounts(appended: inserter.count, duplicates: inserter.duplicates)
            }
        }
    }
}

extension EventInserter {
    mutating func insertWithoutID(_ body: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool) throws {
        _ = try withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { idBytes in
            try insert(body, hasEventIdField: hasEventIdField, idBytes: idBytes)
        }
    }
}
