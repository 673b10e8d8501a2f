/// Pausing and resuming meters on SQLite: a flag on the meter's row, which
/// claims read in their own transaction.
extension Outbox {
    public func pauseMeter(_ meter: String, reason: String?) async throws {
        let now = configuration.clock.wallMilliseconds()
        try await setPause(meter, paused: true, reason: reason, at: now)
    }

    public func resumeMeter(_ meter: String) async throws {
        try await setPause(meter, paused: false, reason: nil, at: nil)
    }

    private func setPause(_ meter: String, paused: Bool, reason: String?, at time: Int64?) async throws {
        try await database.write { context in
            try context.connection.execute(
                "UPDATE outbox_meters SET paused = ?1, pause_reason = ?2, paused_at = ?3 WHERE meter = ?4",
                .integer(paused ? 1 : 0), reason.map { .text($0) } ?? .null, time.map { .integer($0) } ?? .null, .text(meter))
            guard context.connection.changes == 1 else { throw OutboxError.unknownMeter(meter) }
        }
    }

    /// Whether dispatchers must leave `meter` alone (read inside a claim's transaction).
    static func isPaused(_ meter: String, on connection: SQLiteConnection) throws -> Bool {
        try connection.scalarInt("SELECT paused FROM outbox_meters WHERE meter = ?1", .text(meter)) == 1
    }
}

extension OutboxError {
    static func unknownMeter(_ meter: String) -> OutboxError {
        OutboxError(.unknownMeter, "no meter \(meter) in this outbox; nothing was changed", hint: "see the meters with their counts in `outbox status`")
    }
}
