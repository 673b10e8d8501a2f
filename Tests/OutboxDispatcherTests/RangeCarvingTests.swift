import Testing

@testable import OutboxCore

/// The range rules both stores follow when a settlement or a release takes
/// a part out of a claim's open range (`RangeCarving`).
struct RangeCarvingTests {
    @Test(arguments: [(3, 3, true), (3, 4, false), (0, 0, true), (2, 1, false)])
    func aPartMustBeContiguous(named: Int, between: Int, accepted: Bool) {
        #expect((try? RangeCarving.checkContiguous(named: named, between: between)) != nil ? accepted : !accepted)
    }

    @Test(arguments: [
        // (range's events, before the part, the part, left before, left after)
        (10, 0, 10, 0, 0),
        (10, 0, 4, 0, 6),
        (10, 6, 4, 6, 0),
        (10, 3, 4, 3, 3),
    ])
    func whatStaysOpenAroundAPart(events: Int, before: Int, part: Int, left: Int, right: Int) {
        let remainders = RangeCarving.remainders(rangeEvents: events, before: before, part: part)
        #expect(remainders.before == left && remainders.after == right)
    }

    @Test func aReleasedPartAtThePositionMovesItBackAndAnyOtherBecomesRetries() {
        #expect(RangeCarving.release(partEndingAt: 20, position: 20) == .positionMovesBack)
        #expect(RangeCarving.release(partEndingAt: 10, position: 20) == .retryRowsDueNow)
    }

    @Test func releasesGoNewestFirst() {
        let ranges = [(1, 10), (21, 30), (11, 20)].map { ClaimedRange<Int64>(meter: "m", first: $0.0, last: $0.1, events: 10, token: "t", leaseUntil: 0) }
        #expect(RangeCarving.releaseOrder(ranges).map(\.first) == [21, 11, 1])
    }

    /// Both stores: releasing a claim's two newest ranges hands the position
    /// back twice (newest first), so all their events come again as one
    /// range, in order; releasing an older range while a newer one is held
    /// makes retry rows instead.
    @Test(arguments: StoreKind.available)
    func bothStoresReleaseAsTheRuleSays(kind: StoreKind) async throws {
        try await StoreBehaviourTests().withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            try await store.append(jsonEvents: (0..<9).map { StoreBehaviourTests.event("e\($0)") }, meter: "m")
            let first = try #require(try await store.claim(meter: "m", owner: "a", limit: 3, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            let second = try #require(try await store.claim(meter: "m", owner: "b", limit: 3, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            let third = try #require(try await store.claim(meter: "m", owner: "c", limit: 3, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            // The newest: the position moves back; its events are new again.
            #expect(try await store.release(third.events.map(\.rowID), meter: "m", token: third.token) == 3)
            // The oldest, while the second is held: retry rows, due at once.
            #expect(try await store.release(first.events.map(\.rowID), meter: "m", token: first.token) == 3)
            let retried = try #require(try await store.claim(meter: "m", owner: "d", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(retried.events.map(\.eventID) == first.events.map(\.eventID), "retry rows come before new events")
            let again = try #require(try await store.claim(meter: "m", owner: "e", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            #expect(again.events.map(\.eventID) == third.events.map(\.eventID), "the released newest range is claimed again as new events")
            _ = second
            #expect(try await store.verify().isOK)
        }
    }
}

/// The states a retry row takes when claimed and when given back
/// (`RetryRowState`), and the SQL both stores run for them.
struct RetryRowStateTests {
    @Test(arguments: [
        (EventState?.none, EventState.pending), (.pending, .pending), (.failed, .failed), (.inflight, .pending), (.sent, .pending), (.dead, .pending),
    ])
    func aReleasedRetryRowGoesBackToPendingOrFailed(claimedFrom: EventState?, becomes: EventState) {
        #expect(RetryRowState.afterRelease(claimedFrom: claimedFrom) == becomes)
    }

    @Test func aClaimRemembersWhereTheRowCameFromUnlessItTakesOverAClaim() {
        #expect(RetryRowState.onClaim(current: .failed) == .remember(.failed))
        #expect(RetryRowState.onClaim(current: .pending) == .remember(.pending))
        #expect(RetryRowState.onClaim(current: .inflight) == .keepRemembered)
    }

    @Test func theSQLIsTheRule() {
        #expect(RetryRowState.afterReleaseSQL == "CASE claimed_from WHEN 0 THEN 0 WHEN 1 THEN 0 WHEN 2 THEN 2 WHEN 3 THEN 0 WHEN 4 THEN 0 ELSE 0 END")
        #expect(
            RetryRowState.claimedFromOnClaimSQL
                == "CASE state WHEN 0 THEN 0 WHEN 1 THEN claimed_from WHEN 2 THEN 2 WHEN 3 THEN 3 WHEN 4 THEN 4 ELSE state END")
    }
}
