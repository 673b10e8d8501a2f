import OutboxCore
import Testing

@testable import OutboxDispatcher

/// How a usage request's `Idempotency-Key` is derived (`IdempotencyKey`):
/// the same events re-sent after no answer get the same key and bytes; any
/// answer, another set of events, another outbox, or a resend after a 401
/// gets a new one.
struct IdempotencyKeyTests {
    static func events(_ ids: ClosedRange<Int64>, seed: Int64 = 0, unanswered: String? = nil) -> [ClaimedEvent] {
        ids.map { id in
            ClaimedEvent(
                rowID: id, eventID: "e-\(id)", body: Array(#"{"CustomerId":"C-\#(id)","Quantity":1}"#.utf8), attempts: 0, keySeed: seed,
                unansweredKey: unanswered)
        }
    }

    static func key(_ events: [ClaimedEvent], outbox: String = "outbox-a", meter: String = "m", whole: Bool = true, resends: Int = 0) -> String {
        IdempotencyKey.make(outboxID: outbox, meter: meter, events: events, isWholeClaim: whole, resends: resends)
    }

    @Test func theSameRangeResentAfterNoAnswerHasTheSameKeyAndBytes() throws {
        // A range taken over after a kill: the store hands out the same rows,
        // with nothing recorded about them.
        let first = Self.events(1...100)
        let again = Self.events(1...100)
        #expect(Self.key(first) == Self.key(again))
        for gzip in [false, true] {
            let a = try RequestBody.make(first, gzip: gzip)
            let b = try RequestBody.make(again, gzip: gzip)
            #expect(Array(a.buffer.readableBytesView) == Array(b.buffer.readableBytesView), "gzip \(gzip)")
        }
    }

    @Test func retryRowsThatShareAnUnansweredKeyAreSentUnderIt() {
        let group = Self.events(5...9, seed: 42, unanswered: "ob1-earlier")
        #expect(Self.key(group) == "ob1-earlier")
        // Only when the request is the whole claim: a half, or rows of two
        // groups, get a key of their own.
        #expect(Self.key(group, whole: false) != "ob1-earlier")
        let mixed = Self.events(5...6, unanswered: "ob1-earlier") + Self.events(7...8, unanswered: "ob1-other")
        #expect(!["ob1-earlier", "ob1-other"].contains(Self.key(mixed)))
        let partly = Self.events(5...6, unanswered: "ob1-earlier") + Self.events(7...8)
        #expect(Self.key(partly) != "ob1-earlier")
    }

    @Test func aNewKeySeedMakesANewKey() {
        // After every answer the dispatcher gives the rows a fresh seed.
        let keys = Set([0, 7, -7, .max, .min, 1].map { (seed: Int64) in Self.key(Self.events(1...10, seed: seed)) })
        #expect(keys.count == 6)
    }

    @Test func aBisectionHalfHasItsOwnKey() {
        let whole = Self.events(1...10)
        let (first, second) = BatchSplit.halves(whole)
        let keys = [Self.key(whole), Self.key(first, whole: false), Self.key(second, whole: false)]
        #expect(Set(keys).count == 3)
        // Deterministic: a process that bisects the same answer derives the same halves' keys.
        #expect(Self.key(first, whole: false) == Self.key(Array(whole.prefix(first.count)), whole: false))
    }

    @Test func aResendAfterA401HasANewKeyTheSameInEveryProcess() {
        let events = Self.events(1...3)
        #expect(Self.key(events, resends: 1) != Self.key(events))
        #expect(Self.key(events, resends: 1) == Self.key(Self.events(1...3), resends: 1))
        #expect(Self.key(Self.events(1...3, unanswered: "ob1-k"), resends: 1) == "ob1-k-r1")
    }

    @Test func twoOutboxesOrTwoMetersNeverShareAKey() {
        let events = Self.events(1...3)
        #expect(Self.key(events, outbox: "a") != Self.key(events, outbox: "b"))
        #expect(Self.key(events, meter: "m1") != Self.key(events, meter: "m2"))
        // Lengths are hashed with the parts: "ab"+"c" is not "a"+"bc".
        #expect(Self.key(events, outbox: "ab", meter: "c") != Self.key(events, outbox: "a", meter: "bc"))
    }

    @Test func keysArePrintableASCIIWithinZuorasLimit() {
        for key in [Self.key(Self.events(1...1000)), Self.key(Self.events(1...2), resends: 1)] {
            #expect((1...IdempotencyKey.maximumLength).contains(key.utf8.count))
            #expect(key.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F })
        }
    }

    @Test func keyedAnswers409And422HaveTheirDocumentedMeaning() {
        #expect(ResponseClassifier.classify(status: 409, success: .notFalse, retryAfterSeconds: 3, keyed: true) == .keyInProgress(retryAfterSeconds: 3))
        #expect(ResponseClassifier.classify(status: 422, success: .notFalse, retryAfterSeconds: nil, keyed: true) == .keyReusedWithAnotherBody)
        // Without a key they are unknown answers, retried like a 5xx.
        #expect(ResponseClassifier.classify(status: 409, success: .notFalse, retryAfterSeconds: nil) == .transient)
        #expect(ResponseClassifier.classify(status: 422, success: .notFalse, retryAfterSeconds: nil) == .transient)
    }
}
