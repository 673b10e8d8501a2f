import Foundation
import Testing

@testable import OutboxCore
@testable import OutboxPostgres
@testable import UsageOutbox

/// What the stores keep about dead letters for an operator, on every store.
struct DeadLetterStoreTests {
    func withStore(_ kind: StoreKind, _ body: (any OutboxStore, TestStore) async throws -> Void) async throws {
        try await StoreBehaviourTests().withStore(kind, body)
    }

    static let policy = RetryPolicy(backoff: BackoffPolicy(baseSeconds: 0.001, capSeconds: 0.001))

    /// Claims the meter's next events, waiting for a retry to fall due.
    static func claim(_ store: any OutboxStore, meter: String = "m") async throws -> Claim {
        var claim: Claim?
        try await waitUntil("a claim of \(meter)") {
            claim = try await store.claim(meter: meter, owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000)
            return claim != nil
        }
        return try #require(claim)
    }

    /// Settles `verdict` for the whole claim, after one more request carried its events.
    @discardableResult
    static func answer(
        _ verdict: BatchVerdict, _ claim: Claim, in store: any OutboxStore, record: Settlement.Record = .init(status: 500)
    ) async throws -> SettlementResult {
        var random = SystemRandomNumberGenerator()
        let plan = Settlement.plan(
            verdict, events: claim.events.map { $0.carried() }, meter: claim.meter, policy: policy, record: record, random: &random)
        return try await store.settle(plan, token: claim.token)
    }

    /// The requests that carried an event are kept on its retry row from
    /// claim to claim, whatever the answers, and shown as the dead letter's
    /// attempts; an operator's retry gives fresh attempts for the limit,
    /// and the tries go on.
    @Test(arguments: StoreKind.available)
    func triesAreKeptFromClaimToClaimAndShownOnTheDeadLetter(kind: StoreKind) async throws {
        try await withStore(kind) { (store: any OutboxStore, _: TestStore) async throws in
            let id = try await store.append(json: StoreBehaviourTests.event("C-1"), meter: "m").value
            let first = try await Self.claim(store)
            #expect(first.events.map(\.tries) == [0])
            // A rate limit: no attempt spent, one try.
            try await Self.answer(.deferred(reason: "rate limited (HTTP 429)", delayMilliseconds: 0), first, in: store, record: .init(status: 429))
            let second = try await Self.claim(store)
            #expect(second.events.map(\.tries) == [1] && second.events.map(\.attempts) == [0])
            try await Self.answer(.failed(reason: "HTTP 500"), second, in: store)
            let third = try await Self.claim(store)
            #expect(third.events.map(\.tries) == [2] && third.events.map(\.attempts) == [1])
            try await Self.answer(.rejected(reason: "HTTP 400: bad"), third, in: store, record: .init(status: 400))
            let letter = try #require(try await store.deadLetter(id: id))
            #expect(letter.attempts == 3)

            #expect(try await store.retryDeadLetters(DeadLetterSelection(ids: [id])) == 1)
            let again = try await Self.claim(store)
            #expect(again.events.map(\.tries) == [3] && again.events.map(\.attempts) == [0])
            // Sent, then rejected after the 200 (reconcile): tried at least
            // once, the request Zuora accepted.
            try await Self.answer(.accepted, again, in: store, record: .init(status: 200))
            let moved = try await store.applyLateRejections(
                [LateRejection(rowID: again.events[0].rowID, reason: "rejected by Zuora after acceptance: X: y", responseBody: "{}")], meter: "m",
                remember: [])
            #expect(moved == 1)
            #expect(try await store.deadLetter(id: id)?.attempts == 1)
            #expect(try await store.verify().isOK)
        }
    }
}
