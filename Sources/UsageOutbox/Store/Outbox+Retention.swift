extension Outbox {
    /// Deletes events Zuora accepted before `sentBefore` (unix ms): the
    /// ranges settled before it, less their events that have rows of their
    /// own (retries, dead letters), a batch per transaction (appends and
    /// claims get in between); then shrinks the file.
    public func purgeSent(before sentBefore: Int64) async throws -> PurgeResult {
        let sizeBefore = try await databaseSize()
        let clock = configuration.clock
        let defects = configuration.injectedDefects
        let (purged, batches) = try await Purging.inBatches { size in
            try await database.write(isolated: false) { context in
                let batch = try Outbox.purgeSettledRanges(before: sentBefore, about: size, context: context, now: clock.wallMilliseconds())
                try Outbox.forgetHighWaterMark(if: .reuseIDsAfterRetention, in: defects, on: context.connection)
                return batch
            }
        }
        try await reclaimSpace()
        let sizeAfter = try await databaseSize()
        return PurgeResult(purged: purged, bytesFreed: max(0, sizeBefore - sizeAfter), batches: batches)
    }

    public func purgeableSentCount(before sentBefore: Int64) async throws -> Int {
        try await database.withConnection { connection in
            Int(
                try connection.scalarInt(
                    """
                    SELECT count(*) FROM outbox_ranges r
                    JOIN outbox_log ON outbox_log.meter = r.meter AND outbox_log.id BETWEEN r.first_id AND r.last_id
                    WHERE r.settled_at < ?1 AND \(Outbox.retentionDeletes)
                    """, .integer(sentBefore)) ?? 0)
        }
    }

    /// Gives free pages back to the file system: `incremental_vacuum` for
    /// files the outbox created, a full VACUUM for files created without
    /// `auto_vacuum` (an app's own database).
    func reclaimSpace() async throws {
        try await database.withConnection { connection in
            let autoVacuum = try connection.scalarInt("PRAGMA auto_vacuum") ?? 0
            if autoVacuum == 2 {
                try connection.execute("PRAGMA incremental_vacuum")
            } else {
                try connection.execute("VACUUM")
            }
            try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// The database's size in bytes (pages in use and free).
    public func databaseSize() async throws -> Int64 {
        try await database.withConnection { connection in
            let pages = try connection.scalarInt("PRAGMA page_count") ?? 0
            let size = try connection.scalarInt("PRAGMA page_size") ?? 4096
            return pages * size
        }
    }

    /// A consistent copy of the database, taken while it is in use
    /// (`VACUUM INTO`): the way to back an outbox up.
    public func backup(to path: String) async throws {
        try await database.withConnection { connection in
            try connection.execute("VACUUM INTO ?1", .text(path))
        }
    }
}

extension Outbox {
    /// Which events of a due range retention deletes (`SentRetention`), over
    /// `outbox_log.id`. A range is due once `settled_at < cutoff` (an
    /// unsettled range's NULL never compares).
    static let retentionDeletes = SentRetention.eventIsDeletedSQL(idColumn: "outbox_log.id", .sqlite)

    /// One batch of retention: settled ranges, oldest first, until about
    /// `size` events went. Returns the events deleted, and whether more
    /// ranges are due.
    static func purgeSettledRanges(before cutoff: Int64, about size: Int, context: WriteContext, now: Int64) throws -> (deleted: Int, more: Bool) {
        let connection = context.connection
        let ranges = try connection.cached(
            """
            SELECT meter, first_id, last_id, events FROM outbox_ranges
            WHERE settled_at < ?1 ORDER BY settled_at LIMIT ?2
            """)
        try ranges.bind(cutoff, at: 1)
        try ranges.bind(Int64(Purging.rangesPerBatch + 1), at: 2)
        var candidates: [(meter: String, first: Int64, last: Int64, events: Int)] = []
        while try ranges.step() {
            candidates.append((ranges.string(0), ranges.int64(1), ranges.int64(2), ranges.int(3)))
        }
        ranges.reset()
        let (count, more) = Purging.rangesToDelete(eventCounts: candidates.map(\.events), about: size)
        let chosen = candidates.prefix(count)
        let delete = try connection.cached(
            """
            DELETE FROM outbox_log WHERE meter = ?1 AND id BETWEEN ?2 AND ?3 AND \(Outbox.retentionDeletes)
            """)
        // A history of answers whose event is gone goes with it (a send by
        // a drain from before schema 8 leaves one behind).
        let dropAnswers = try connection.cached(
            """
            DELETE FROM outbox_answers WHERE id BETWEEN ?1 AND ?2
                AND id NOT IN (SELECT id FROM outbox_log WHERE id BETWEEN ?1 AND ?2)
            """)
        let dropRange = try connection.cached("DELETE FROM outbox_ranges WHERE meter = ?1 AND first_id = ?2")
        var deleted = 0
        for range in chosen {
            try delete.bind(range.meter, at: 1)
            try delete.bind(range.first, at: 2)
            try delete.bind(range.last, at: 3)
            try delete.run()
            delete.resetKeepingBindings()
            let count = connection.changes
            try dropAnswers.bind(range.first, at: 1)
            try dropAnswers.bind(range.last, at: 2)
            try dropAnswers.run()
            dropAnswers.resetKeepingBindings()
            deleted += count
            context.adjust(range.meter) { counts in
                counts.sent -= count
                counts.purged += count
            }
            try dropRange.bind(range.meter, at: 1)
            try dropRange.bind(range.first, at: 2)
            try dropRange.run()
            dropRange.resetKeepingBindings()
        }
        delete.reset()
        dropRange.reset()
        return (deleted, more)
    }
}

extension Outbox {
    /// Puts issue 17's defects 1 and 2 back, for the model test only: with
    /// the sequence row gone, SQLite hands out max(id) + 1 again.
    static func forgetHighWaterMark(if defect: InjectedDefect, in defects: Set<InjectedDefect>, on connection: SQLiteConnection) throws {
        guard defects.contains(defect) else { return }
        try connection.execute("DELETE FROM sqlite_sequence WHERE name = 'outbox_log'")
    }
}
