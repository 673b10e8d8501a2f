import Logging
import OutboxCore
import PostgresNIO

/// Keeps the log's order meaningful across clusters. A log key's `xact` is
/// the appending transaction's id plus the offset in `outbox_log_epoch`
/// (migrations/postgres/0004). Transaction ids restart when a dump is
/// restored into another cluster; the first outbox that opens there finds
/// the log ahead of the current transaction id and raises the offset past
/// every key the log holds, so new events sort after every restored one and
/// the log never goes backwards.
enum PostgresLogEpoch {
    /// The `xact` of a row appended by the current transaction.
    static let appendingXact = "(SELECT pg_current_xact_id()::text::bigint + xact_offset FROM outbox_log_epoch)"

    /// Every transaction of this database below this has finished, so the
    /// log's events below it are final (see PostgresRangeClaims).
    ///
    /// The statement's snapshot lists the transactions running anywhere in
    /// the cluster. One in another database cannot append to this log, so it
    /// does not hold the horizon back: a long write in a neighbouring app's
    /// database (or a `CREATE DATABASE`) would otherwise stall every claim.
    /// A running transaction is passed over only when `pg_stat_activity`,
    /// read after the snapshot, shows it in another database; one that ended
    /// meanwhile, or that the view does not show (a prepared transaction, a
    /// session hidden from this role), still holds the horizon, as it did
    /// when the snapshot's `xmin` was the horizon. A transaction id is
    /// compared by its low 32 bits, which is what the view shows; two running
    /// transactions never share them.
    static let horizon = """
        (least(pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
               (SELECT min(running::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS running
                WHERE NOT EXISTS (
                    SELECT 1 FROM pg_stat_activity elsewhere
                    WHERE elsewhere.backend_xid::text::bigint = running::text::bigint % 4294967296
                      AND elsewhere.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))))
         + (SELECT xact_offset FROM outbox_log_epoch))
        """

    /// Raises the offset when the log is ahead of this cluster's transaction
    /// ids (a restore into another cluster). Runs inside the opening
    /// transaction, under the migration lock; returns the new offset, or nil
    /// when nothing needed to change.
    @discardableResult
    static func repairIfRestored(on connection: PostgresConnection, logger: Logger) async throws -> Int64? {
        for try await (offset, current, newest) in try await connection.query(
            """
            WITH epoch AS (SELECT xact_offset FROM outbox_log_epoch FOR UPDATE)
            SELECT (SELECT xact_offset FROM epoch),
                   pg_current_xact_id()::text::bigint + (SELECT xact_offset FROM epoch),
                   greatest(
                       (SELECT max(claimed_xact) FROM outbox_positions),
                       (SELECT max(last_xact) FROM outbox_ranges),
                       (SELECT max((SELECT l.xact FROM outbox_log l WHERE l.meter = m.meter ORDER BY l.xact DESC, l.id DESC LIMIT 1))
                        FROM (SELECT DISTINCT meter FROM outbox_meter_counters) AS m))
            """, logger: logger
        ).decode((Int64, Int64, Int64?).self) {
            guard let newest, newest >= current else { return nil }
            let raised = offset + (newest - current) + 1
            try await connection.query("UPDATE outbox_log_epoch SET xact_offset = \(raised)", logger: logger)
            logger.notice(
                "the outbox's log is ahead of this cluster's transaction ids (restored from another cluster?): new events are ordered after it",
                metadata: ["offset": .stringConvertible(raised)])
            return raised
        }
        return nil
    }
}
