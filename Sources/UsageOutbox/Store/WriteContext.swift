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
