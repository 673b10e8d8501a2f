import Testing

@testable import OutboxCore

/// "Undelivered" (pending, inflight or failed) and "has work" are one rule,
/// `MeterBacklog`, for both stores.
struct MeterBacklogTests {
    static let backlogs = [
        MeterBacklog(meter: "b", counts: StateCounts(pending: 2), paused: false),
        MeterBacklog(meter: "a", counts: StateCounts(inflight: 1, failed: 1), paused: false),
        MeterBacklog(meter: "c", counts: StateCounts(sent: 5, dead: 1), paused: false),
        MeterBacklog(meter: "d", counts: StateCounts(pending: 3), paused: true),
    ]

    @Test func metersWithWorkAreUnpausedWithUndeliveredEvents() {
        #expect(MeterBacklog.metersWithWork(Self.backlogs) == ["a", "b"])
        #expect(MeterBacklog.undelivered(Self.backlogs, paused: false) == 4)
        #expect(MeterBacklog.undelivered(Self.backlogs, paused: true) == 3)
        #expect(MeterBacklog.metersWithWork([]) == [])
    }

    @Test(arguments: StoreKind.available)
    func bothStoresReadTheirBacklogThroughTheRule(kind: StoreKind) async throws {
        try await StoreBehaviourTests().withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            try await store.append(jsonEvents: (0..<3).map { StoreBehaviourTests.event("p\($0)") }, meter: "paused")
            try await store.append(jsonEvents: (0..<2).map { StoreBehaviourTests.event("w\($0)") }, meter: "working")
            try await store.append(jsonEvents: [StoreBehaviourTests.event("s")], meter: "sent")
            let claim = try #require(try await store.claim(meter: "sent", owner: "o", limit: 10, maxBytes: 1 << 20, leaseMilliseconds: 60_000))
            _ = try await store.settle(LogNeverGoesBackwardsTests.sent(claim), token: claim.token)
            try await store.pauseMeter("paused", reason: "test")
            #expect(try await store.metersWithWork() == ["working"])
            #expect(try await store.undeliveredCount() == 2)
            #expect(try await store.pausedCount() == 3)
        }
    }
}
