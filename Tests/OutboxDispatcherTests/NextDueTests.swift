import Testing

@testable import OutboxCore

/// How long an idle dispatcher sleeps is one rule, `NextDue`: until the
/// earliest due time of any meter with work. Each store only reads the
/// times.
struct NextDueTests {
    static let now: Int64 = 1_000_000

    static func meter(_ unclaimed: MeterDueTimes.Unclaimed = .none, lease: Int64? = nil, retry: Int64? = nil) -> MeterDueTimes {
        MeterDueTimes(unclaimed: unclaimed, earliestLeaseLapse: lease.map { now + $0 }, earliestRetryDue: retry.map { now + $0 })
    }

    @Test(
        arguments: [
            // (meters, delay)
            ([], nil),
            ([meter()], nil),
            ([meter(.ready, lease: 500)], 0),
            ([meter(.heldBack, lease: 500)], NextDue.heldBackPollMilliseconds),
            ([meter(lease: 500, retry: 300)], 300),
            ([meter(retry: 1000), meter(lease: -5)], -5),
            ([meter(.heldBack), meter(retry: 5)], 5),
        ] as [([MeterDueTimes], Int64?)])
    func theEarliestDueTimeOfAnyMeterWins(meters: [MeterDueTimes], delay: Int64?) {
        #expect(NextDue.delay(meters, now: Self.now) == delay)
    }

    /// A claimed log is due when its lease lapses; an append makes it due
    /// at once (on PostgreSQL, soon, while another test's transaction still
    /// runs); nothing undelivered means no wake-up at all.
    @Test(arguments: StoreKind.available)
    func bothStoresReadTheirDueTimesThroughTheRule(kind: StoreKind) async throws {
        try await StoreBehaviourTests().withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            #expect(try await store.nextDueDelay() == nil)
            _ = try await store.append(jsonEvents: [StoreBehaviourTests.event("C-1")], meter: "m")
            #expect(try await Self.dueAtOnce(store, kind))
            let claim = try #require(try await StoreBehaviourTests.claimWhenDue(store))
            let leased = try #require(try await store.nextDueDelay())
            #expect(leased > 0 && leased <= 60_000, "due when the lease lapses")
            _ = try await store.append(jsonEvents: [StoreBehaviourTests.event("C-2")], meter: "m")
            #expect(try await Self.dueAtOnce(store, kind))
            let second = try #require(try await StoreBehaviourTests.claimWhenDue(store))
            for taken in [claim, second] {
                _ = try await store.settle(LogNeverGoesBackwardsTests.sent(taken), token: taken.token)
            }
            #expect(try await store.nextDueDelay() == nil)
        }
    }

    static func dueAtOnce(_ store: any OperatedStore, _ kind: StoreKind) async throws -> Bool {
        guard let delay = try await store.nextDueDelay() else { return false }
        // SQLite has no transaction that could hold events back.
        return delay == 0 || (kind == .postgres && delay == NextDue.heldBackPollMilliseconds)
    }
}
