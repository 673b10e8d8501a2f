/// A write transaction on the outbox's database, handed to `Outbox.write`.
/// Valid only inside that closure.
///
/// Run your own SQL through `execute` or `connection`, and append usage events
/// with `append`: all of it commits together, or none of it does.
public struct OutboxTransaction {
    let context: WriteContext
    let eventIdField: String?
    let maxEventBytes: Int

    /// The connection, for statements beyond `execute` (queries, loops).
    /// Use bound parameters, never string interpolation, for values.
    public var connection: SQLiteConnection { context.connection }

    /// Runs one statement with bound parameters.
    public func execute(_ sql: String, _ arguments: SQLiteValue...) throws {
        let statement = try connection.cached(sql)
        try statement.bind(arguments)
        try statement.run()
    }

    @discardableResult
    public func append(_ event: UsageEvent, meter: String) throws -> EventID {
        try append(contentsOf: [event], meter: meter)[0]
    }

    @discardableResult
    public func append(contentsOf events: [UsageEvent], meter: String) throws -> [EventID] {
        try MeterName.validate(meter)
        return try OutboxTransaction.insert(
            try EventValidation.prepare(events, eventIdField: eventIdField, maxEventBytes: maxEventBytes), meter: meter, eventIdField: eventIdField,
            into: context
        ).ids
    }

    @discardableResult
    public func append(json: String, meter: String) throws -> EventID {
        try append(jsonEvents: [json], meter: meter)[0]
    }

    @discardableResult
    public func append(jsonEvents: [String], meter: String) throws -> [EventID] {
        try MeterName.validate(meter)
        return try appendReporting(jsonEvents: jsonEvents, meter: meter).ids
    }

    /// Appends like `append(jsonEvents:meter:)`, and says which events were
    /// duplicates of an id the meter already holds.
    public func appendReporting(jsonEvents: [String], meter: String) throws -> AppendResult {
        try MeterName.validate(meter)
        let events = try EventValidation.prepare(jsonEvents, eventIdField: eventIdField, maxEventBytes: maxEventBytes)
        return try OutboxTransaction.insert(events, meter: meter, eventIdField: eventIdField, into: context)
    }

    /// Inserts events validated by `EventValidation.prepare`.
    static func insert(_ events: [PreparedEvent], meter: String, eventIdField: String?, into context: WriteContext) throws -> AppendResult {
        var inserter = try EventInserter(connection: context.connection, meter: meter, eventIdField: eventIdField, ids: context.ids)
        var ids: [EventID] = []
        var duplicates: [Int] = []
        ids.reserveCapacity(events.count)
        for (position, event) in events.enumerated() {
            var text = event.text
            let outcome = try text.withUTF8 { bytes in
                try inserter.insert(UnsafeBufferPointer(rebasing: bytes[event.range]), hasEventIdField: event.hasEventIdField)
            }
            switch outcome {
            case .inserted(let id):
                ids.append(id)
            case .duplicate(let ownID):
                guard let held = try EventInserter.heldID(meter: meter, ownID: ownID, on: context.connection) else {
                    throw OutboxError(.corrupt, "event id \(ownID) of meter \(meter) was refused as held, and is not found")
                }
                ids.append(held)
                duplicates.append(position)
            }
        }
        let appended = inserter.count
        context.adjust(meter) { counts in
            counts.appended += appended
            counts.pending += appended
        }
        return AppendResult(ids: ids, duplicatePositions: duplicates)
    }
}
