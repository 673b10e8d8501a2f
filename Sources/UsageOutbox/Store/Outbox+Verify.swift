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
    }

    public let meters: [MeterCheck]
    /// "ok", or what SQLite found wrong.
    public let integrity: [String]

    public var isIntact: Bool { integrity == ["ok"] }
    public var isConsistent: Bool { meters.allSatisfy { $0.problems.isEmpty } }
    public var isOK: Bool { isIntact && isConsistent }
}

extension Outbox {
    public func verify() async throws -> VerifyReport {
        try await database.withConnection { connection in
            // One read transaction: counters and rows from the same snapshot.
            try connection.execute("BEGIN")
            defer { try? connection.execute("COMMIT") }
            var counters: [String: StateCounts] = [:]
            let counterRows = try connection.prepare("SELECT meter, appended, pending, inflight, failed, sent, dead, purged FROM outbox_meters")
            while try counterRows.step() {
                counters[counterRows.string(0)] = StateCounts(appended: counterRows.int(1), pending: counterRows.int(2), inflight: counterRows.int(3),
                                                              failed: counterRows.int(4), sent: counterRows.int(5), dead: counterRows.int(6), purged: counterRows.int(7))
            }
            var rows: [String: StateCounts] = [:]
            let stateRows = try connection.prepare("SELECT meter, state, count(*) FROM outbox_events GROUP BY meter, state")
            while try stateRows.step() {
                let meter = stateRows.string(0)
                guard let state = EventState(rawValue: stateRows.int64(1)) else {
                    rows[meter, default: StateCounts()].appended = -1
                    continue
                }
                rows[meter, default: StateCounts()][state] = stateRows.int(2)
            }
            var checks: [VerifyReport.MeterCheck] = []
            for meter in Set(counters.keys).union(rows.keys).sorted() {
                let counted = counters[meter] ?? StateCounts()
                let actual = rows[meter] ?? StateCounts()
                var problems: [String] = []
                if counters[meter] == nil { problems.append("has events but no counters") }
                if actual.appended == -1 { problems.append("has rows in an unknown state") }
                if !counted.isConserved {
                    problems.append("appended \(counted.appended) ≠ pending+inflight+failed+sent+dead+purged \(counted.pending + counted.inflight + counted.failed + counted.sent + counted.dead + counted.purged)")
                }
                for state in EventState.allCases where counted[state] != actual[state] {
                    problems.append("\(state): counter says \(counted[state]), rows say \(actual[state])")
                }
                checks.append(.init(meter: meter, counters: counted, rows: actual, problems: problems))
            }
            var integrity: [String] = []
            let check = try connection.prepare("PRAGMA quick_check")
            while try check.step() { integrity.append(check.string(0)) }
            return VerifyReport(meters: checks, integrity: integrity)
        }
    }
}
