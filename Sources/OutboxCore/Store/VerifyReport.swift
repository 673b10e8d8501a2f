/// `outbox verify`: proves the bookkeeping adds up. For every meter, the
/// counters kept as events move must satisfy
/// `appended = pending + inflight + failed + sent + dead + purged`, and each
/// state's counter must equal the rows actually in that state. SQLite's
/// `quick_check` covers the file itself. The purged events are told apart:
/// dead letters purged (never billed), sent events purged by retention,
/// and, in an outbox upgraded from before schema 8, purges that were not
/// told apart.
public struct VerifyReport: Sendable {
    public struct MeterCheck: Sendable {
        public let meter: String
        public let counters: StateCounts
        public let rows: StateCounts
        /// Of `counters.purged`, those purged before schema 8, when sent
        /// and dead purges were counted together.
        public let purgedBeforeSplit: Int
        public var problems: [String]

        /// Of `counters.purged`, the sent events retention deleted.
        public var purgedSent: Int { counters.purged - counters.purgedDead - purgedBeforeSplit }

        /// Compares a meter's counters with its rows. `rows.appended` is -1
        /// when some row is in a state the outbox does not know.
        public init(meter: String, counters: StateCounts, rows: StateCounts, hasCounters: Bool, purgedBeforeSplit: Int = 0) {
            self.meter = meter
            self.counters = counters
            self.rows = rows
            self.purgedBeforeSplit = purgedBeforeSplit
            var problems: [String] = []
            if !hasCounters { problems.append("has events but no counters") }
            if rows.appended == -1 { problems.append("has rows in an unknown state") }
            if !counters.isConserved {
                problems.append(
                    "appended \(counters.appended) ≠ pending+inflight+failed+sent+dead+purged \(counters.pending + counters.inflight + counters.failed + counters.sent + counters.dead + counters.purged)"
                )
            }
            if counters.purgedDead < 0 || counters.purged - counters.purgedDead - purgedBeforeSplit < 0 {
                problems.append(
                    "purged \(counters.purged) < dead letters purged \(counters.purgedDead) + purged before schema 8 \(purgedBeforeSplit)")
            }
            for state in EventState.allCases where counters[state] != rows[state] {
                problems.append("\(state): counter says \(counters[state]), rows say \(rows[state])")
            }
            self.problems = problems
        }
    }

    public let meters: [MeterCheck]
    /// "ok", or what the store's own check found wrong.
    public let integrity: [String]

    public init(meters: [MeterCheck], integrity: [String]) {
        self.meters = meters
        self.integrity = integrity
    }

    /// The report for a store's counters and the rows it holds, per meter
    /// (`rows[meter].appended == -1`: some row is in an unknown state; see
    /// `StateCounts.count(_:rawState:)`), with what the store found wrong in
    /// the log's structure (`LogStructure`).
    public init(
        counters: [String: StateCounts], rows: [String: StateCounts], structure: LogStructure = LogStructure(), integrity: [String],
        purgedBeforeSplit: [String: Int] = [:]
    ) {
        self.init(
            meters: Set(counters.keys).union(rows.keys).union(structure.meters).sorted().map { meter in
                var check = MeterCheck(
                    meter: meter, counters: counters[meter] ?? StateCounts(), rows: rows[meter] ?? StateCounts(), hasCounters: counters[meter] != nil,
                    purgedBeforeSplit: purgedBeforeSplit[meter] ?? 0)
                check.problems += structure.problems(of: meter)
                return check
            }, integrity: integrity)
    }

    public var isIntact: Bool { integrity == ["ok"] }
    public var isConsistent: Bool { meters.allSatisfy { $0.problems.isEmpty } }
    public var isOK: Bool { isIntact && isConsistent }
}
