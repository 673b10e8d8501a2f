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
            let checks = Set(counters.keys).union(rows.keys).sorted().map { meter in
                VerifyReport.MeterCheck(meter: meter, counters: counters[meter] ?? StateCounts(), rows: rows[meter] ?? StateCounts(),
                                        hasCounters: counters[meter] != nil)
            }
            var integrity: [String] = []
            let check = try connection.prepare("PRAGMA quick_check")
            while try check.step() { integrity.append(check.string(0)) }
            return VerifyReport(meters: checks, integrity: integrity)
        }
    }
}
