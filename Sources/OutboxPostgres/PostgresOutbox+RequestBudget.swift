import OutboxCore
import PostgresNIO

/// The shared request budgets on PostgreSQL: every dispatcher of the fleet
/// admits its requests here, one at a time under an advisory lock, on the
/// server's clock (`RequestBudget` decides; this reads and records).
extension PostgresOutbox {
    /// The advisory lock that orders admissions (class 0x6F63, "oc").
    static let budgetLockKey = "pg_advisory_xact_lock(28515, 0)"

    package func admitRequest(holder: String, budget: RequestBudget, leaseMilliseconds: Int64) async throws -> RequestBudget.Admission {
        guard !budget.isUnlimited else { return .admitted }
        return try await transaction { connection in
            try await connection.query("SELECT \(unescaped: Self.budgetLockKey)", logger: logger)
            var now: Int64 = 0
            var next: Int64 = 1
            for try await (serverNow, last) in try await connection.query(
                "SELECT \(unescaped: Self.serverNow), coalesce((SELECT max(seq) FROM outbox_requests), 0)", logger: logger
            ).decode((Int64, Int64).self) {
                now = serverNow
                next = last + 1
            }
            var limitBack: [Int64?] = []
            for window in budget.windows {
                let back = next - Int64(window.limit)
                var sentAt: Int64?
                if back >= 1 {
                    for try await value in try await connection.query("SELECT sent_at FROM outbox_requests WHERE seq = \(back)", logger: logger)
                        .decode(Int64.self)
                    {
                        sentAt = value
                    }
                }
                limitBack.append(sentAt)
            }
            var inFlight = 0
            if budget.maxConcurrent != nil {
                for try await count in try await connection.query(
                    "SELECT count(*)::bigint FROM outbox_request_slots WHERE expires_at > \(now)", logger: logger
                ).decode(Int64.self) {
                    inFlight = Int(count)
                }
            }
            let admission = budget.decide(now: now, record: RequestBudget.Record(limitBack: limitBack, inFlight: inFlight))
            switch admission {
            case .admitted:
                // Every request is recorded, and kept for the longest window
                // any dispatcher may count (not only this one's windows).
                try await connection.query("INSERT INTO outbox_requests (seq, sent_at) VALUES (\(next), \(now))", logger: logger)
                // Rows no window looks at any more; a few at a time.
                try await connection.query(
                    """
                    DELETE FROM outbox_requests WHERE seq IN (SELECT seq FROM outbox_requests ORDER BY seq LIMIT 64)
                        AND sent_at < \(now - RequestBudget.longestWindowSeconds * 1000)
                    """, logger: logger)
                // What held requests back no longer does.
                try await connection.query("DELETE FROM outbox_budget_holds", logger: logger)
                if budget.maxConcurrent != nil {
                    try await connection.query("DELETE FROM outbox_request_slots WHERE expires_at <= \(now)", logger: logger)
                    try await connection.query(
                        """
                        INSERT INTO outbox_request_slots (holder, expires_at) VALUES (\(holder), \(now + leaseMilliseconds))
                        ON CONFLICT (holder) DO UPDATE SET expires_at = excluded.expires_at
                        """, logger: logger)
                }
            case .wait(_, RequestBudget.concurrencyBudget):
                break  // a wait of a poll: nothing worth showing in `status`
            case .wait(let milliseconds, let name):
                try await connection.query(
                    """
                    INSERT INTO outbox_budget_holds (budget, until_at) VALUES (\(name), \(now + milliseconds))
                    ON CONFLICT (budget) DO UPDATE SET until_at = excluded.until_at
                    """, logger: logger)
            }
            return admission
        }
    }

    package func finishRequest(holder: String) async throws {
        _ = try await transaction { connection in
            try await connection.query("DELETE FROM outbox_request_slots WHERE holder = \(holder)", logger: logger)
        }
    }

    package func budgetHolds() async throws -> [BudgetHold] {
        try await read { connection in
            var holds: [BudgetHold] = []
            for try await (budget, until) in try await connection.query(
                "SELECT budget, until_at FROM outbox_budget_holds WHERE until_at > \(unescaped: Self.serverNow) ORDER BY until_at DESC", logger: logger
            ).decode((String, Int64).self) {
                holds.append(BudgetHold(budget: budget, until: until))
            }
            return holds
        }
    }
}
