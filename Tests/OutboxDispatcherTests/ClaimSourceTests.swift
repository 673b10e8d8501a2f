import Testing

@testable import OutboxCore

/// Where a claim's events came from decides whether they may have been
/// sent before without a recorded answer (then they stay together when given
/// back, so their re-send keeps the lost request's key).
struct ClaimSourceTests {
    @Test(arguments: [
        (ClaimSource.lapsedRange, true),
        (.dueRetries(.lapsedClaim(token: "t")), true),
        (.dueRetries(.unanswered(key: "k")), true),
        (.dueRetries(.free), false),
        (.nextRange, false),
    ])
    func mayHaveBeenSent(source: ClaimSource, expected: Bool) {
        #expect(source.mayHaveBeenSent == expected)
    }
}

/// Both stores walk `ClaimSource.order`: a meter with a lapsed range, a due
/// retry row and new events gives them to three claims in that order.
struct ClaimOrderTests {
    @Test func theOrderIsLapsedRangesThenRetriesThenNewEvents() {
        #expect(ClaimSource.order == [.lapsedRange, .dueRetries, .nextRange])
        #expect(Set(ClaimSource.order.map { "\($0)" }).count == ClaimSource.Place.allCases.count, "every place, once")
    }

    @Test(arguments: StoreKind.available)
    func bothStoresClaimInTheRulesOrder(kind: StoreKind) async throws {
        try await StoreBehaviourTests().withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<2).map { StoreBehaviourTests.event("C-\($0)") }, meter: "m")
            let first = try #require(try await StoreBehaviourTests.claimWhenDue(store))
            try #require(first.events.count == 2)
            let (held, retried) = (first.events[0].rowID, first.events[1].rowID)
            // The second event to retry at once; the first stays held, under
            // a lease renewed into the past (lapsed, whatever the clock).
            let retry = Settlement(
                meter: "m", rows: [.init(rowID: retried, outcome: .retry(afterMilliseconds: 0, attempts: 1))],
                record: .init(status: 500, responseBody: "{}", trackID: "t"), meterFailure: "HTTP 500", isSuccess: false)
            #expect(try await store.settle(retry, token: first.token).retried == 1)
            #expect(try await store.renewLease([held], token: first.token, leaseMilliseconds: -60_000) == [held])
            _ = try await store.append(jsonEvents: [StoreBehaviourTests.event("C-2")], meter: "m")

            let lapsed = try #require(try await StoreBehaviourTests.claimWhenDue(store))
            #expect(lapsed.events.map(\.rowID) == [held], "a lapsed range first")
            #expect(lapsed.mayHaveBeenSent)
            let due = try #require(try await StoreBehaviourTests.claimWhenDue(store))
            #expect(due.events.map(\.rowID) == [retried], "then due retries")
            let fresh = try #require(try await StoreBehaviourTests.claimWhenDue(store))
            #expect(fresh.events.count == 1 && ![held, retried].contains(fresh.events[0].rowID), "then new events")
            #expect(!fresh.mayHaveBeenSent)
        }
    }
}
