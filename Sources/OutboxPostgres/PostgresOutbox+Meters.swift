import Logging
import OutboxCore
import PostgresNIO

/// Pausing and resuming meters on PostgreSQL: the same answers as the
/// SQLite store.
extension PostgresOutbox {
    public func pauseMeter(_ meter: String, reason: String?) async throws {
        try await setPause(meter, paused: true, reason: reason)
    }

    public func resumeMeter(_ meter: String) async throws {
        try await setPause(meter, paused: false, reason: nil)
    }

    /// A meter is known once it has counters (its first append).
    private func setPause(_ meter: String, paused: Bool, reason: String?) async throws {
        try await transaction { connection in
            var known = false
            for try await exists in try await connection.query(
                "SELECT EXISTS (SELECT 1 FROM outbox_meter_counters WHERE meter = \(meter))", logger: logger
            ).decode(Bool.self) {
                known = exists
            }
            guard known else {
                throw OutboxError(
                    .unknownMeter, "no meter \(meter) in this outbox; nothing was changed",
                    hint: "see the meters with their counts in `outbox status`")
            }
            try await connection.query(
                """
                INSERT INTO outbox_meters (meter, paused, pause_reason, paused_at)
                VALUES (\(meter), \(paused), \(reason), CASE WHEN \(paused) THEN \(unescaped: Self.serverNow) END)
                ON CONFLICT (meter) DO UPDATE SET paused = excluded.paused, pause_reason = excluded.pause_reason, paused_at = excluded.paused_at
                """, logger: logger)
        }
    }

    /// Whether dispatchers must leave `meter` alone (read inside a claim's transaction).
    static func isPaused(_ meter: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        for try await paused in try await connection.query("SELECT paused FROM outbox_meters WHERE meter = \(meter)", logger: logger).decode(Bool.self) {
            return paused
        }
        return false
    }
}
