import Testing

@testable import OutboxCore

/// Which delivered events retention deletes is one rule, `SentRetention`:
/// the events of ranges settled before the cutoff, less those with a row of
/// their own. Both stores run the SQL built from it.
struct SentRetentionTests {
    @Test(arguments: [
        // (settled at, cutoff, due)
        (Int64?.none, Int64(100), false), (99, 100, true), (100, 100, false), (101, 100, false),
    ])
    func aRangeIsDueOnceSettledBeforeTheCutoff(settledAt: Int64?, cutoff: Int64, due: Bool) {
        #expect(SentRetention.rangeIsDue(settledAt: settledAt, cutoff: cutoff) == due)
    }

    @Test(
        arguments: [
            ([], true), ([.retry], false), ([.deadLetter], false), ([.retry, .deadLetter], false),
        ] as [(Set<SentRetention.OwnRow>, Bool)])
    func anEventWithARowOfItsOwnIsKept(ownRows: Set<SentRetention.OwnRow>, deleted: Bool) {
        #expect(SentRetention.deletes(eventWith: ownRows) == deleted)
    }

    @Test func theSQLIsTheRule() {
        #expect(
            SentRetention.eventIsDeletedSQL(idColumn: "l.id", .postgres)
                == "NOT EXISTS (SELECT 1 FROM outbox_retries own WHERE l.id = own.id) AND NOT EXISTS (SELECT 1 FROM outbox_dead own WHERE l.id = own.id)")
        #expect(
            SentRetention.eventIsDeletedSQL(idColumn: "l.id", .sqlite)
                == "l.id NOT IN (SELECT own.id FROM outbox_retries own) AND l.id NOT IN (SELECT own.id FROM outbox_dead own)")
    }

    /// One settled range of six: four sent, one to retry, one dead.
    /// Retention counts and deletes the four, on both stores, and keeps the
    /// two with rows of their own.
    @Test(arguments: StoreKind.available)
    func bothStoresDeleteWhatTheRuleSays(kind: StoreKind) async throws {
        try await StoreBehaviourTests().withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<6).map { StoreBehaviourTests.event("C-\($0)") }, meter: "m")
            let claim = try #require(try await StoreBehaviourTests.claimWhenDue(store))
            let rows = claim.events.map(\.rowID)
            try #require(rows.count == 6)
            let settlement = Settlement(
                meter: "m",
                rows: rows[0..<4].map { .init(rowID: $0, outcome: .sent) } + [
                    .init(rowID: rows[4], outcome: .retry(afterMilliseconds: 60_000, attempts: 1)),
                    .init(rowID: rows[5], outcome: .dead(reason: "bad", attempts: 1)),
                ],
                record: .init(status: 400, responseBody: "{}", trackID: "t"), meterFailure: "HTTP 400", isSuccess: false)
            #expect(try await store.settle(settlement, token: claim.token) == SettlementResult(sent: 4, retried: 1, dead: 1, lost: 0))
            #expect(try await store.purgeableSentCount(before: 0) == 0, "nothing settled before the cutoff")
            #expect(try await store.purgeableSentCount(before: Int64.max) == 4)
            #expect(try await store.purgeSent(before: Int64.max).purged == 4)
            let counts = try await store.status().totals
            #expect(counts.failed == 1)
            #expect(counts.dead == 1)
            #expect(counts.purged == 4)
            #expect(try await store.verify().isOK)
            #expect(try await store.purgeableSentCount(before: Int64.max) == 0)
        }
    }
}
