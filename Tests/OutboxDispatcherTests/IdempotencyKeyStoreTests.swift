import Foundation
import OutboxCore
import Testing
import UsageOutbox

/// What each store records for idempotency keys: the outbox's own id, a
/// fresh key seed after an answer, and the key of a request that got no
/// answer, whose events are then claimed together and alone.
struct IdempotencyKeyStoreTests {
    static func event(_ customer: String) -> String {
        #"{"CustomerId":"\#(customer)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
    }

    static func claim(_ store: any OutboxStore, limit: Int = 100) async throws -> Claim? {
        try await store.claim(meter: "m", owner: "o", limit: limit, maxBytes: 1 << 20, leaseMilliseconds: 60_000)
    }

    /// Settles every event of `claim` as due again at once, with `keys`.
    static func retryNow(_ claim: Claim, on store: any OutboxStore, keys: RequestKeyChange, status: Int? = 500) async throws {
        let rows = claim.events.map { Settlement.Row(rowID: $0.rowID, outcome: .retry(afterMilliseconds: 0, attempts: $0.attempts + 1)) }
        let settlement = Settlement(meter: "m", rows: rows, record: .init(status: status), meterFailure: "test", isSuccess: false, keys: keys)
        _ = try await store.settle(settlement, token: claim.token)
    }

    @Test(arguments: StoreKind.available)
    func eachOutboxHasItsOwnIdWhichItKeeps(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let other = try await TestStore.make(kind)
        let store = try await place.open()
        let neighbour = try await other.open()
        try await place.using(store) {
            try await other.using(neighbour) {
                let id = try await store.outboxID()
                #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))
                #expect(try await neighbour.outboxID() != id)
                let reopened = try await place.open()
                #expect(try await reopened.outboxID() == id)
                await reopened.close()
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func eventsWithoutAnAnswerComeBackTogetherUnderTheirKey(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let store = try await place.open()
        try await place.using(store) {
            _ = try await store.append(jsonEvents: (0..<6).map { Self.event("C-\($0)") }, meter: "m")
            // Three requests of two events: one lost its answer, one was
            // answered 500, one lost its answer too.
            let lost = try #require(try await Self.claim(store, limit: 2))
            let answered = try #require(try await Self.claim(store, limit: 2))
            let lostToo = try #require(try await Self.claim(store, limit: 2))
            #expect(lost.events.allSatisfy { $0.keySeed == 0 && $0.unansweredKey == nil }, "a range's events have nothing recorded")
            try await Self.retryNow(lost, on: store, keys: .unanswered(key: "ob1-lost"), status: nil)
            try await Self.retryNow(answered, on: store, keys: .answered(seed: 77))
            try await Self.retryNow(lostToo, on: store, keys: .unanswered(key: "ob1-lost-too"), status: nil)

            // Each unanswered request's events come back alone, even with
            // room for more; the answered events may go with any others.
            var claims: [Claim] = []
            for _ in 0..<3 {
                let claim = try #require(try await Self.claim(store))
                let keys = Set(claim.events.map { $0.unansweredKey ?? "seed \($0.keySeed)" })
                #expect(keys.count == 1, "one group per claim: \(keys)")
                switch keys.first {
                case "ob1-lost": #expect(claim.events.map(\.rowID).sorted() == lost.events.map(\.rowID).sorted())
                case "ob1-lost-too": #expect(claim.events.map(\.rowID).sorted() == lostToo.events.map(\.rowID).sorted())
                default:
                    #expect(claim.events.map(\.rowID).sorted() == answered.events.map(\.rowID).sorted())
                    #expect(claim.events.allSatisfy { $0.keySeed == 77 && $0.unansweredKey == nil })
                }
                claims.append(claim)
            }
            #expect(Set(claims.flatMap { $0.events.map(\.rowID) }).count == 6)
            // Answers now: the keys are gone, a new seed in their place, and
            // the rows may go out together.
            for claim in claims { try await Self.retryNow(claim, on: store, keys: .answered(seed: 5)) }
            let together = try #require(try await Self.claim(store))
            #expect(together.events.count == 6 && together.events.allSatisfy { $0.keySeed == 5 && $0.unansweredKey == nil })
            // No request left (a token failure): seeds and keys stay.
            try await Self.retryNow(together, on: store, keys: .unchanged, status: nil)
            let same = try #require(try await Self.claim(store))
            #expect(same.events.allSatisfy { $0.keySeed == 5 && $0.unansweredKey == nil })
            #expect(try await store.verify().isOK)
        }
    }

    @Test(arguments: StoreKind.available)
    func aRedrivenDeadLetterGetsAFreshSeed(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let store = try await place.open()
        try await place.using(store) {
            _ = try await store.append(jsonEvents: [Self.event("C-1")], meter: "m")
            let claim = try #require(try await Self.claim(store))
            let dead = Settlement(
                meter: "m", rows: [.init(rowID: claim.events[0].rowID, outcome: .dead(reason: "rejected", attempts: 1))], record: .init(status: 400),
                meterFailure: nil, isSuccess: false, keys: .answered(seed: 3))
            _ = try await store.settle(dead, token: claim.token)
            #expect(try await store.retryDeadLetters(.all) == 1)
            let again = try #require(try await Self.claim(store))
            // Zuora answered the event before: its next key must be new.
            #expect(again.events[0].keySeed != 0 && again.events[0].unansweredKey == nil)
        }
    }
}
