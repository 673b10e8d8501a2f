/// The `outbox_meters` counters, changed only through here.
enum MeterCounters {
    static let upsertSQL = """
        INSERT INTO outbox_meters (meter, appended, pending, inflight, failed, sent, dead, purged, purged_dead)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
        ON CONFLICT (meter) DO UPDATE SET
            appended = appended + excluded.appended,
            pending = pending + excluded.pending,
            inflight = inflight + excluded.inflight,
            failed = failed + excluded.failed,
            sent = sent + excluded.sent,
            dead = dead + excluded.dead,
            purged = purged + excluded.purged,
            purged_dead = purged_dead + excluded.purged_dead
        """

    static func apply(_ delta: StateCounts, to meter: String, on connection: SQLiteConnection) throws {
        let statement = try connection.cached(upsertSQL)
        try statement.bind(meter, at: 1)
        try statement.bind(delta.appended, at: 2)
        try statement.bind(delta.pending, at: 3)
        try statement.bind(delta.inflight, at: 4)
        try statement.bind(delta.failed, at: 5)
        try statement.bind(delta.sent, at: 6)
        try statement.bind(delta.dead, at: 7)
        try statement.bind(delta.purged, at: 8)
        try statement.bind(delta.purgedDead, at: 9)
        try statement.run()
    }
}
