import Testing

@testable import OutboxCore

/// Retention deletes settled ranges a batch (one transaction) at a time.
/// Which ranges a batch takes is one rule, `Purging.rangesToDelete`, for
/// both stores.
struct RetentionBatchTests {
    @Test(arguments: [
        // (ranges' sizes oldest first, about how many events, taken, more)
        ([Int](), 10, 0, false),
        ([3, 3, 3], 10, 3, false),
        ([3, 3, 3], 6, 2, true),
        ([3, 3, 3], 5, 2, true),
        ([10_000, 1], 10_000, 1, true),
        ([20_000], 10_000, 1, false),
        (Array(repeating: 1, count: Purging.rangesPerBatch + 1), 10_000, Purging.rangesPerBatch, true),
        (Array(repeating: 1, count: Purging.rangesPerBatch), 10_000, Purging.rangesPerBatch, false),
    ])
    func aBatchTakesTheOldestRangesUpToItsSize(sizes: [Int], about: Int, taken: Int, more: Bool) {
        let plan = Purging.rangesToDelete(eventCounts: sizes, about: about)
        #expect(plan.count == taken)
        #expect(plan.more == more)
    }

    /// A purge whose ranges fit one batch takes one transaction: a second,
    /// empty one would mean the store misread what is left.
    @Test(arguments: StoreKind.available)
    func aPurgeThatFitsOneBatchTakesOneTransaction(kind: StoreKind) async throws {
        try await StoreBehaviourTests().withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            for round in 0..<3 {
                _ = try await store.append(jsonEvents: (0..<4).map { StoreBehaviourTests.event("r\(round)-\($0)") }, meter: "m")
                let claim = try #require(try await LogNeverGoesBackwardsTests.claim(store))
                #expect(try await store.settle(LogNeverGoesBackwardsTests.sent(claim), token: claim.token).sent == 4)
            }
            let result = try await store.purgeSent(before: Int64.max)
            #expect(result.purged == 12)
            #expect(result.batches == 1)
            #expect(try await store.purgeSent(before: Int64.max).batches == 1, "an empty purge looks once")
        }
    }
}
