/// Appending a whole input stream: `outbox append` and large imports.
extension Outbox {
    /// Reads events from `fileDescriptor` (one JSON object, a JSON array of
    /// objects, or NDJSON) and appends them to `meter` in one transaction: all
    /// of them, or, when any is invalid, none (the error lists each invalid
    /// event's position and reason).
    ///
    /// NDJSON is streamed, so memory stays bounded whatever the input size; a
    /// JSON array or a pretty-printed object is read whole first. Events are
    /// parsed and validated on a thread of their own while SQLite inserts.
    /// `progress` is called now and then with the bytes read and events seen.
    /// Returns the number of events appended, durable on return.
    public func appendStream(
        fileDescriptor: Int32,
        meter: String,
        progress: (@Sendable (_ bytesRead: Int, _ events: Int) -> Void)? = nil
    ) async throws -> Int {
        try MeterName.validate(meter)
        let eventIdField = configuration.eventIdField
        let ids = database.ids
        let appended = try await database.withConnection { connection in
            // Parsing runs on its own thread, a few chunks ahead of the inserts.
            let input = EventInput(fileDescriptor: fileDescriptor, eventIdField: eventIdField)
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
                return inserter.count
            }
        }
        notifyAppended()
        return appended
    }
}

extension EventInserter {
    mutating func insertWithoutID(_ body: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool) throws {
        try withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { idBytes in
            try insert(body, hasEventIdField: hasEventIdField, idBytes: idBytes)
        }
    }
}
