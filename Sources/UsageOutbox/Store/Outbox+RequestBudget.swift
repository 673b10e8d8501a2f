/// The shared request budgets on SQLite: every dispatcher of this file
/// admits its requests here, in group-committed writes (`RequestBudget`
/// decides; this reads and records).
extension Outbox {
    package func admitRequest(holder: String, budget: RequestBudget, leaseMilliseconds: Int64) async throws -> RequestBudget.Admission {
        guard !budget.isUnlimited else { return .admitted }
        let clock = configuration.clock
        return try await database.write(isolated: false) { context in
            let connection = context.connection
            let now = clock.wallMilliseconds()
            let next = (try connection.scalarInt("SELECT max(seq) FROM outbox_requests") ?? 0) + 1
            var limitBack: [Int64?] = []
            for window in budget.windows {
                let back = next - Int64(window.limit)
                limitBack.append(back >= 1 ? try connection.scalarInt("SELECT sent_at FROM outbox_requests WHERE seq = ?1", .integer(back)) : nil)
            }
            let inFlight =
                budget.maxConcurrent == nil
                ? 0 : Int(try connection.scalarInt("SELECT count(*) FROM outbox_request_slots WHERE expires_at > ?1", .integer(now)) ?? 0)
            let admission = budget.decide(now: now, record: RequestBudget.Record(limitBack: limitBack, inFlight: inFlight))
            switch admission {
            case .admitted:
                // Every request is recorded, and kept for the longest window
                // any dispatcher may count (not only this one's windows).
                try connection.execute("INSERT INTO outbox_requests (seq, sent_at) VALUES (?1, ?2)", .integer(next), .integer(now))
                // Rows no window looks at any more; a few at a time, so no
                // request pays for a long backlog.
                try connection.execute(
                    "DELETE FROM outbox_requests WHERE seq IN (SELECT seq FROM outbox_requests ORDER BY seq LIMIT 64) AND sent_at < ?1",
                    .integer(now - RequestBudget.longestWindowSeconds * 1000))
                // What held requests back no longer does.
                try connection.execute("DELETE FROM outbox_budget_holds")
                if budget.maxConcurrent != nil {
                    try connection.execute("DELETE FROM outbox_request_slots WHERE expires_at <= ?1", .integer(now))
                    try connection.execute(
                        "INSERT OR REPLACE INTO outbox_request_slots (holder, expires_at) VALUES (?1, ?2)", .text(holder),
                        .integer(now + leaseMilliseconds))
                }
            case .wait(_, RequestBudget.concurrencyBudget):
                break  // a wait of a poll: nothing worth showing in `status`
            case .wait(let milliseconds, let name):
                try connection.execute(
                    "INSERT OR REPLACE INTO outbox_budget_holds (budget, until_at) VALUES (?1, ?2)", .text(name), .integer(now + milliseconds))
            }
            return admission
        }
    }

    /// The request of `holder` was answered (or failed): its slot is free.
    package func finishRequest(holder: String) async throws {
        try await database.write(isolated: false) { context in
            try context.connection.execute("DELETE FROM outbox_request_slots WHERE holder = ?1", .text(holder))
        }
    }

    /// Budgets holding requests back now.
    package func budgetHolds() async throws -> [BudgetHold] {
        let now = configuration.clock.wallMilliseconds()
        return try await database.withConnection { connection in
            let statement = try connection.cached("SELECT budget, until_at FROM outbox_budget_holds WHERE until_at > ?1 ORDER BY until_at DESC")
            defer { statement.reset() }
            try statement.bind(now, at: 1)
            var holds: [BudgetHold] = []
            while try statement.step() { holds.append(BudgetHold(budget: statement.string(0), until: statement.int64(1))) }
            return holds
        }
    }
}
