extension Outbox {
    public func verify() async throws -> VerifyReport {
        try await database.withConnection { connection in
            // One read transaction: counters and rows from the same snapshot.
            try connection.execute("BEGIN")
            defer { try? connection.execute("COMMIT") }
            var counters: [String: StateCounts] = [:]
            let counterRows = try connection.prepare("SELECT meter, appended, pending, inflight, failed, sent, dead, purged FROM outbox_meters")
            while try counterRows.step() {
                counters[counterRows.string(0)] = StateCounts(
                    appended: counterRows.int(1), pending: counterRows.int(2), inflight: counterRows.int(3),
                    failed: counterRows.int(4), sent: counterRows.int(5), dead: counterRows.int(6), purged: counterRows.int(7))
            }
            var rows: [String: StateCounts] = [:]
            let stateRows = try connection.prepare("SELECT meter, state, count(*) FROM outbox_events GROUP BY meter, state")
            while try stateRows.step() {
                rows[stateRows.string(0), default: StateCounts()].count(stateRows.int(2), rawState: stateRows.int64(1))
            }
            var integrity: [String] = []
            let check = try connection.prepare("PRAGMA quick_check")
            while try check.step() { integrity.append(check.string(0)) }
            return VerifyReport(counters: counters, rows: rows, integrity: integrity)
        }
    }
}
