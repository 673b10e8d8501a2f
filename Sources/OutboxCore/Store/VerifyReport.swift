/// `outbox verify`: proves the bookkeeping adds up. For every meter, the
/// counters kept as events move must satisfy
/// `appended = pending + inflight + failed + sent + dead + purged`, and each
/// state's counter must equal the rows actually in that state. SQLite's
/// `quick_check` covers the file itself.
public struct VerifyReport: Sendable {
    public struct MeterCheck: Sendable {
        public let meter: String
        public let counters: StateCounts
        public let rows: StateCounts
        public var problems: [String]

        /// Compares a meter's counters with its rows. `rows.appended` is -1
        /// when some row is in a state the outbox does not know.
        public init(meter: String, counters: StateCounts, rows: StateCounts, hasCounters: Bool) {
            self.meter = meter
            self.counters = counters
            self.rows = rows
            var problems: [String] = []
            if !hasCounters { problems.append("has events but no counters") }
            if rows.appended == -1 { problems.append("has rows in an unknown state") }
            if !counters.isConserved {
                problems.append(
                    "appended \(counters.appended) ≠ pending+inflight+failed+sent+dead+purged \(counters.pending + counters.inflight + counters.failed + counters.sent + counters.dead + counters.purged)"
                )
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
    public init(counters: [String: StateCounts], rows: [String: StateCounts], structure: LogStructure = LogStructure(), integrity: [String]) {
        self.init(
            meters: Set(counters.keys).union(rows.keys).union(structure.meters).sorted().map { meter in
                var check = MeterCheck(
                    meter: meter, counters: counters[meter] ?? StateCounts(), rows: rows[meter] ?? StateCounts(), hasCounters: counters[meter] != nil)
                check.problems += structure.problems(of: meter)
                return check
            }, integrity: integrity)
    }

    public var isIntact: Bool { integrity == ["ok"] }
    public var isConsistent: Bool { meters.allSatisfy { $0.problems.isEmpty } }
    public var isOK: Bool { isIntact && isConsistent }
}
