import Foundation
import Testing

@testable import OutboxCore
@testable import OutboxPostgres
@testable import UsageOutbox

/// After a delete (retention, a dead-letter purge), the next append must
/// land past every position and settled range: a log that goes backwards
/// hides new events from every claim, or counts them as sent unsent.
struct LogNeverGoesBackwardsTests {
    static func sent(_ claim: Claim) -> Settlement {
        Settlement(meter: claim.meter, rows: claim.events.map { .init(rowID: $0.rowID, outcome: .sent) }, record: .init(), meterFailure: nil, isSuccess: true)
    }

    static func claim(_ store: any OperatedStore, limit: Int = 100) async throws -> Claim? {
        try await store.claim(meter: "m", owner: "o", limit: limit, maxBytes: 1 << 20, leaseMilliseconds: 60_000)
    }

    @Test(arguments: StoreKind.available)
    func eventsAppendedAfterRetentionEmptiedTheLogAreDelivered(kind: StoreKind) async throws {
        try await StoreBehaviourTests().withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<5).map { StoreBehaviourTests.event("old-\($0)") }, meter: "m")
            let first = try #require(try await Self.claim(store))
            #expect(try await store.settle(Self.sent(first), token: first.token).sent == 5)
            #expect(try await store.purgeSent(before: Int64.max).purged == 5)
            let fresh = try await store.append(jsonEvents: (0..<3).map { StoreBehaviourTests.event("new-\($0)") }, meter: "m")
            let next = try #require(try await Self.claim(store), "events appended after retention must be claimable")
            #expect(next.events.map(\.eventID) == fresh.map(\.value))
            #expect(next.events.allSatisfy { !first.events.map(\.rowID).contains($0.rowID) }, "no id is handed out twice")
            #expect(try await store.settle(Self.sent(next), token: next.token).sent == 3)
            #expect(try await store.verify().isOK)
            #expect(try await store.status().totals == StateCounts(appended: 8, sent: 3, purged: 5))
        }
    }

    @Test(arguments: StoreKind.available)
    func anEventAppendedAfterTheNewestDeadLetterWasPurgedIsNotCountedAsSent(kind: StoreKind) async throws {
        try await StoreBehaviourTests().withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            let ids = try await store.append(jsonEvents: (0..<2).map { StoreBehaviourTests.event("C-\($0)") }, meter: "m")
            let claim = try #require(try await Self.claim(store))
            let plan = Settlement(
                meter: "m",
                rows: [.init(rowID: claim.events[0].rowID, outcome: .sent), .init(rowID: claim.events[1].rowID, outcome: .dead(reason: "bad", attempts: 0))],
                record: .init(status: 400), meterFailure: nil, isSuccess: false)
            _ = try await store.settle(plan, token: claim.token)
            #expect(try await store.purgeDeadLetters(DeadLetterSelection(ids: [ids[1].value])) == 1)
            let late = try await store.append(json: StoreBehaviourTests.event("late"), meter: "m")
            #expect(try await store.status().totals.pending == 1, "a new event is pending, never inside a settled range")
            let next = try #require(try await Self.claim(store))
            #expect(next.events.map(\.eventID) == [late.value])
            _ = try await store.settle(Self.sent(next), token: next.token)
            #expect(try await store.purgeSent(before: Int64.max).purged == 2)
            #expect(try await store.status().totals == StateCounts(appended: 3, purged: 3, purgedDead: 1))
            #expect(try await store.verify().isOK)
        }
    }

    /// A dispatcher that drops a part it will not send (after a 401 resend
    /// lost some rows) gives back that part only: the rest of its claim
    /// stays its own, renewable and unsent by anyone else.
    @Test(arguments: StoreKind.available)
    func releaseGivesBackExactlyTheRowsItNames(kind: StoreKind) async throws {
        try await StoreBehaviourTests().withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            _ = try await store.append(jsonEvents: (0..<10).map { StoreBehaviourTests.event("C-\($0)") }, meter: "m")
            let claim = try #require(try await Self.claim(store))
            let rows = claim.events.map(\.rowID)
            #expect(try await store.release(Array(rows[3..<6]), meter: "m", token: claim.token) == 3)
            #expect(try await store.status().totals.inflight == 7)
            let kept = try await store.renewLease(rows, token: claim.token, leaseMilliseconds: 60_000)
            #expect(kept == Set(rows[0..<3] + rows[6..<10]))
            // The released three are claimed by the next claim, nothing else.
            let next = try #require(try await Self.claim(store))
            #expect(Set(next.events.map(\.rowID)) == Set(rows[3..<6]))
            #expect(try await store.verify().isOK)
        }
    }
}
