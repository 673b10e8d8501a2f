import Logging
import OutboxCore
import PostgresNIO

/// Dead letters counted by cause on PostgreSQL: the same answers as the
/// SQLite store.
extension PostgresOutbox {
    public func deadLetterTallies(_ filter: DeadLetterFilter) async throws -> [DeadLetterTally] {
        let query = Self.deadLetterQuery(
            "SELECT d.last_status, left(d.reason, \(DeadLetterCauses.reasonCharacters)), d.meter, count(*)::bigint, min(d.dead_at) FROM outbox_dead d",
            filter, then: "GROUP BY 1, 2, 3")
        return try await read { connection in
            var tallies: [DeadLetterTally] = []
            for try await (status, reason, meter, count, oldest) in try await connection.query(query, logger: logger).decode(
                (Int32?, String, String, Int64, Int64).self)
            {
                tallies.append(DeadLetterTally(status: status.map(Int.init), reason: reason, meter: meter, count: Int(count), oldestDeadAt: oldest))
            }
            return tallies
        }
    }
}
