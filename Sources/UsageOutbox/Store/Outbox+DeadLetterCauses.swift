extension Outbox {
    /// The dead letters `filter` selects, counted per status, meter and
    /// first `DeadLetterCauses.reasonCharacters` characters of the reason
    /// (`DeadLetterCauses.merge` makes causes of them): one aggregate query.
    public func deadLetterTallies(_ filter: DeadLetterFilter = .all) async throws -> [DeadLetterTally] {
        try await database.withConnection { connection in
            let statement = try connection.cached(
                """
                SELECT d.last_status, substr(d.reason, 1, ?6), d.meter, count(*), min(d.dead_at)
                FROM outbox_dead d WHERE \(Outbox.deadLetterSelection)
                GROUP BY 1, 2, 3
                """)
            defer { statement.reset() }
            try Outbox.bind(filter, to: statement)
            try statement.bind(DeadLetterCauses.reasonCharacters, at: 6)
            var tallies: [DeadLetterTally] = []
            while try statement.step() {
                tallies.append(
                    DeadLetterTally(
                        status: statement.optionalInt64(0).map { Int($0) }, reason: statement.string(1), meter: statement.string(2),
                        count: statement.int(3), oldestDeadAt: statement.int64(4)))
            }
            return tallies
        }
    }
}
