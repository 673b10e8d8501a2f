import OutboxCore
import Testing

@testable import OutboxDispatcher

/// How a usage request's `Idempotency-Key` is derived (`IdempotencyKey`),
/// which retry rows go together (`RetryGroup`), and how a settlement treats
/// a group whose request got no answer. End to end through the stores:
/// `IdempotencyKeyStoreTests`.
struct IdempotencyKeyTests {
    static func events(_ ids: ClosedRange<Int64>, seed: Int64 = 0, attempts: Int = 0) -> [ClaimedEvent] {
        ids.map { id in
            ClaimedEvent(rowID: id, eventID: "e-\(id)", body: Array(#"{"CustomerId":"C-\#(id)","Quantity":1}"#.utf8), attempts: attempts, keySeed: seed)
        }
    }

    static func key(_ events: [ClaimedEvent], outbox: String = "outbox-a", meter: String = "m") -> String {
        IdempotencyKey.make(outboxID: outbox, meter: meter, events: events)
    }

    @Test func aNewKeySeedMakesANewKey() {
        // After every answer the dispatcher gives the rows a fresh seed.
        let keys = Set([0, 7, -7, .max, .min, 1].map { (seed: Int64) in Self.key(Self.events(1...10, seed: seed)) })
        #expect(keys.count == 6)
        // One event's seed is enough.
        var one = Self.events(1...10)
        one[4] = ClaimedEvent(rowID: 5, eventID: "e-5", body: one[4].body, attempts: 0, keySeed: 1)
        #expect(Self.key(one) != Self.key(Self.events(1...10)))
    }

    @Test func theKeyFollowsTheEventsAndTheirOrder() {
        let events = Self.events(1...10)
        #expect(Self.key(events) == Self.key(Self.events(1...10)))
        #expect(Self.key(events) != Self.key(Array(events.reversed())), "another body, another key")
        #expect(Self.key(events) != Self.key(Array(events.dropLast())))
    }

    @Test func aBisectionHalfHasItsOwnKeyWhichAReSendDerivesAgain() {
        let whole = Self.events(1...10)
        let (first, second) = BatchSplit.halves(whole)
        #expect(Set([Self.key(whole), Self.key(first), Self.key(second)]).count == 3)
        // A half taken over after a kill (the same rows, the same seeds)
        // derives the key the half was sent under.
        #expect(Self.key(second) == Self.key(Self.events(6...10)))
    }

    @Test func twoOutboxesOrTwoMetersNeverShareAKey() {
        let events = Self.events(1...3)
        #expect(Self.key(events, outbox: "a") != Self.key(events, outbox: "b"))
        #expect(Self.key(events, meter: "m1") != Self.key(events, meter: "m2"))
        // Lengths are hashed with the parts: "ab"+"c" is not "a"+"bc".
        #expect(Self.key(events, outbox: "ab", meter: "c") != Self.key(events, outbox: "a", meter: "bc"))
    }

    @Test func keysArePrintableASCIIWithinZuorasLimit() {
        let key = Self.key(Self.events(1...1000))
        #expect(key.hasPrefix("ob1-") && key.utf8.count == 44 && key.utf8.count <= IdempotencyKey.maximumLength)
        #expect(key.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F })
    }

    @Test func keyedAnswers409And422HaveTheirDocumentedMeaning() {
        #expect(ResponseClassifier.classify(status: 409, success: .notFalse, retryAfterSeconds: 3, keyed: true) == .keyInProgress(retryAfterSeconds: 3))
        #expect(ResponseClassifier.classify(status: 422, success: .notFalse, retryAfterSeconds: nil, keyed: true) == .keyReusedWithAnotherBody)
        // Without a key they are unknown answers, retried like a 5xx.
        #expect(ResponseClassifier.classify(status: 409, success: .notFalse, retryAfterSeconds: nil) == .transient)
        #expect(ResponseClassifier.classify(status: 422, success: .notFalse, retryAfterSeconds: nil) == .transient)
    }

    @Test func theFirstDueRowPicksTheGroup() {
        #expect(RetryGroup.of(firstDue: .inflight, token: "t", unansweredKey: "k") == .lapsedClaim(token: "t"))
        #expect(RetryGroup.of(firstDue: .failed, token: nil, unansweredKey: "k") == .unanswered(key: "k"))
        #expect(RetryGroup.of(firstDue: .failed, token: nil, unansweredKey: nil) == .free)
        #expect(RetryGroup.of(firstDue: .pending, token: nil, unansweredKey: nil) == .free)
    }

    /// With `--max-attempts`, events of one unanswered request give up
    /// together: one kept alone would be re-sent under another key.
    @Test func anUnansweredGroupGivesUpTogether() {
        var random = SystemRandomNumberGenerator()
        let policy = RetryPolicy(backoff: BackoffPolicy(base: .milliseconds(10), cap: .milliseconds(10)), maxAttempts: 3)
        let mixed = Self.events(1...2, attempts: 2) + Self.events(3...4, attempts: 0)
        let unanswered = Settlement.plan(.failed(reason: "timeout"), events: mixed, meter: "m", policy: policy, keys: .unanswered(key: "k"), random: &random)
        #expect(unanswered.rows.allSatisfy { $0.outcome.state == .dead }, "\(unanswered.rows)")
        let young = Self.events(1...2, attempts: 1) + Self.events(3...4, attempts: 0)
        let kept = Settlement.plan(.failed(reason: "timeout"), events: young, meter: "m", policy: policy, keys: .unanswered(key: "k"), random: &random)
        #expect(kept.rows.allSatisfy { $0.outcome.state == .failed })
        // Answered, each event counts its own attempts.
        let answered = Settlement.plan(.failed(reason: "500"), events: mixed, meter: "m", policy: policy, keys: .answered(seed: 1), random: &random)
        #expect(answered.rows.map(\.outcome.state) == [.dead, .dead, .failed, .failed])
    }
}
