/// What a unit of work sees inside a group-committed write transaction: the
/// connection, plus the per-meter counter changes it makes. The changes are
/// kept only if the unit succeeds, and written once per transaction.
final class WriteContext {
    let connection: SQLiteConnection
    let ids: IDGenerator
    private var unitDeltas: [String: StateCounts] = [:]
    private var keptDeltas: [String: StateCounts] = [:]

    init(connection: SQLiteConnection, ids: IDGenerator) {
        self.connection = connection
        self.ids = ids
    }

    /// Records a change to a meter's counters, made by the current unit.
    func adjust(_ meter: String, _ change: (inout StateCounts) -> Void) {
        change(&unitDeltas[meter, default: StateCounts()])
    }

    func keepUnitChanges() {
        for (meter, delta) in unitDeltas {
            keptDeltas[meter, default: StateCounts()] += delta
        }
        unitDeltas.removeAll(keepingCapacity: true)
    }

    func dropUnitChanges() {
        unitDeltas.removeAll(keepingCapacity: true)
    }

    /// The sum of the kept changes over all meters.
    var committedCounts: StateCounts {
        keptDeltas.values.reduce(StateCounts(), +)
    }

    /// Writes the kept counter changes: one upsert per meter touched.
    func flushCounters() throws {
        for (meter, delta) in keptDeltas where !delta.isZero {
            try MeterCounters.apply(delta, to: meter, on: connection)
        }
        keptDeltas.removeAll()
    }
}

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
