extension Outbox {
    /// Deletes events Zuora accepted before `sentBefore` (unix ms), a chunk
    /// per transaction (appends and claims get in between), then shrinks
    /// the file.
    public func purgeSent(before sentBefore: Int64) async throws -> PurgeResult {
        let sizeBefore = try await databaseSize()
        let purged = try await Purging.inChunks { limit in
            try await database.write(isolated: false) { context in
                let connection = context.connection
                let statement = try connection.cached(
                    """
                    DELETE FROM outbox_events WHERE id IN (
                        SELECT id FROM outbox_events WHERE state = 3 AND sent_at < ?1 LIMIT ?2)
                    RETURNING meter
                    """)
                defer { statement.reset() }
                try statement.bind(sentBefore, at: 1)
                try statement.bind(limit, at: 2)
                var byMeter: [String: Int] = [:]
                while try statement.step() { byMeter[statement.string(0), default: 0] += 1 }
                for (meter, count) in byMeter {
                    context.adjust(meter) {
                        $0.sent -= count
                        $0.purged += count
                    }
                }
                return byMeter.values.reduce(0, +)
            }
        }
        try await reclaimSpace()
        let sizeAfter = try await databaseSize()
        return PurgeResult(purged: purged, bytesFreed: max(0, sizeBefore - sizeAfter))
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
