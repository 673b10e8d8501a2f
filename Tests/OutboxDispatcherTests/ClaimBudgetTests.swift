import Testing

@testable import OutboxCore

/// The byte-budget cut is one rule, `ClaimBudget`, for every claim on both
/// stores: at most `limit` events, their JSON array within `maxBytes`, and
/// always the first event, however large.
struct ClaimBudgetTests {
    /// (the events' sizes, limit, maxBytes, how many one claim takes)
    static let table: [([Int], Int, Int, Int)] = [
        ([10, 10, 10], 10, 1 << 20, 3),
        ([10, 10, 10], 2, 1 << 20, 2),
        // "[" + 10 + "," + 10 + "]" = 23 bytes: two fit in 23, one in 22.
        ([10, 10, 10], 10, 23, 2),
        ([10, 10, 10], 10, 22, 1),
        // The first always goes, even alone over the budget (a 413 then
        // dead-letters it by itself).
        ([500, 10], 10, 100, 1),
        ([10, 500, 10], 10, 100, 1),
        ([], 10, 100, 0),
    ]

    @Test(arguments: table)
    func aClaimTakesWhatFitsTheBudget(sizes: [Int], limit: Int, maxBytes: Int, taken: Int) {
        #expect(ClaimBudget(limit: limit, maxBytes: maxBytes).count(ofSizes: sizes) == taken)
    }

    /// Both stores cut their claims where the rule says: a meter per case,
    /// events of varied sizes, and budgets around their sizes.
    @Test(arguments: StoreKind.available)
    func bothStoresCutWhereTheRuleSays(kind: StoreKind) async throws {
        try await StoreBehaviourTests().withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            let texts = ["a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cc", String(repeating: "d", count: 300), "e"].map { StoreBehaviourTests.event($0) }
            let sizes = texts.map(\.utf8.count)
            let budgets = [(10, 1 << 20), (3, 1 << 20), (10, sizes[0] + 2), (10, sizes[0] + sizes[1] + 3), (10, sizes[0] + sizes[1] + sizes[2] + 3), (10, 1)]
            for (index, (limit, maxBytes)) in budgets.enumerated() {
                let meter = "m\(index)"
                _ = try await store.append(jsonEvents: texts, meter: meter)
                let rule = ClaimBudget(limit: limit, maxBytes: maxBytes)
                var claimedSizes: [[Int]] = []
                var remaining = sizes
                while !remaining.isEmpty {
                    let claim = try #require(try await store.claim(meter: meter, owner: "o", limit: limit, maxBytes: maxBytes, leaseMilliseconds: 60_000))
                    claimedSizes.append(claim.events.map(\.body.count))
                    #expect(claim.events.count == rule.count(ofSizes: remaining), "meter \(meter): limit \(limit), \(maxBytes) bytes")
                    remaining.removeFirst(min(claim.events.count, remaining.count))
                }
                #expect(claimedSizes.flatMap { $0 } == sizes)
            }
        }
    }
}

extension ClaimBudgetTests {
    /// A claim is a run of the log: a small event after one that did not
    /// fit is not taken, or the claim would skip an event.
    @Test func aCutIsFinalOnceAnEventDoesNotFit() {
        var cut = ClaimBudget(limit: 10, maxBytes: 30).start()
        let taken = [cut.take(eventBytes: 10), cut.take(eventBytes: 100), cut.take(eventBytes: 1)]
        #expect(taken == [true, false, false])
        #expect(cut.taken == 1)
    }
}
