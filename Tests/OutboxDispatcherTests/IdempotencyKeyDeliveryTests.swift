import OutboxCore
import Testing
import ZuoraMock

@testable import OutboxDispatcher

/// The dispatcher's idempotency keys against the mock, which honours them
/// as Zuora documents: a re-send whose answer never came goes under the
/// same key and is answered from the mock's memory; a 409 is waited out
/// under the same key.
struct IdempotencyKeyDeliveryTests {
    /// The mock bills two requests and drops their answers: the outbox
    /// retries the same events under the same keys, and each is billed once.
    @Test(arguments: StoreKind.available)
    func lostAnswersAreAnsweredFromZuorasMemory(kind: StoreKind) async throws {
        var configuration = MockConfiguration()
        configuration.scriptedLostAnswers = [1, 2]
        try await Harness.with(kind, mock: configuration) { h in
            try await h.append(300)
            let summary = try await h.dispatcher { $0.batchSize = 100 }.drainOnce(maxTime: .seconds(60))
            #expect(summary.sent == 300 && summary.remaining == 0)
            let statistics = h.mock.statistics
            #expect(statistics.lostAnswers == 2 && statistics.idempotentReplays == 2, "\(statistics)")
            #expect(statistics.acceptedEvents == 300 && statistics.duplicateEvents == 0, "\(statistics)")
            #expect(statistics.idempotencyMismatches == 0, "\(h.logs.all.filter { $0.contains("usage request") })")
        }
    }

    /// The control: with keys off the same lost answers bill twice.
    @Test func withoutKeysALostAnswerBillsTwice() async throws {
        var configuration = MockConfiguration()
        configuration.scriptedLostAnswers = [1]
        try await Harness.with(.sqlite, mock: configuration) { h in
            try await h.append(100)
            let summary = try await h.dispatcher { $0.idempotencyKeys = false }.drainOnce(maxTime: .seconds(60))
            #expect(summary.sent == 100)
            #expect(h.mock.statistics.duplicateEvents == 100 && h.mock.statistics.idempotentReplays == 0)
        }
    }

    /// The request times out while the mock still works on it: the re-send
    /// under the same key gets 409s until the first is done, then its
    /// answer. No attempt is spent on a 409, nothing is billed twice.
    @Test(arguments: StoreKind.available)
    func aKeyStillInProgressIsWaitedOutUnderTheSameKey(kind: StoreKind) async throws {
        var configuration = MockConfiguration()
        // Long enough that the re-send finds the first still in progress,
        // even on a loaded machine.
        configuration.delayMilliseconds = 8000
        try await Harness.with(kind, mock: configuration) { h in
            try await h.append(10)
            let summary = try await h.dispatcher {
                $0.requestTimeout = .seconds(2)
                $0.maxAttempts = 3
            }.drainOnce(maxTime: .seconds(60))
            let statistics = h.mock.statistics
            #expect(summary.sent == 10 && summary.dead == 0, "409s spend no attempt: \(summary)")
            #expect(statistics.idempotencyConflicts >= 1 && statistics.idempotentReplays >= 1, "\(statistics)")
            #expect(statistics.acceptedEvents == 10 && statistics.duplicateEvents == 0, "\(statistics)")
        }
    }

    /// A dispatcher takes over a killed one's claim (its request may have
    /// been billed), then cannot get a token: the events go back as one
    /// group, so their re-send derives the killed request's key, not a new
    /// one mixed with other events.
    @Test(arguments: StoreKind.available)
    func eventsTakenOverStayTogetherWhenGivenBackUnsent(kind: StoreKind) async throws {
        var configuration = MockConfiguration()
        configuration.scriptedTokenRateLimits = [1]
        try await Harness.with(kind, mock: configuration) { h in
            try await h.append(5)
            let outboxID = try await h.outbox.outboxID()
            // The killed dispatcher's claim: its lease lapses at once.
            let killed = try #require(try await h.outbox.claim(meter: "m", owner: "killed", limit: 5, maxBytes: 1 << 20, leaseMilliseconds: 1))
            let killedKey = IdempotencyKey.make(outboxID: outboxID, meter: "m", events: killed.events)
            _ = try await h.run(try h.dispatcher { $0.concurrency = 1 }, until: "the token request was refused") {
                h.mock.statistics.tokenRateLimited >= 1
            }
            #expect(h.mock.statistics.usageRequests == 0)
            // Due again once the token's Retry-After has passed.
            var again: Claim?
            try await waitUntil("the deferred events come due") {
                again = try await h.outbox.claim(meter: "m", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000)
                return again != nil
            }
            let group = try #require(again)
            #expect(group.events.map(\.rowID) == killed.events.map(\.rowID))
            #expect(group.mayHaveBeenSent && group.events.allSatisfy { $0.unansweredKey != nil }, "kept as one group")
            #expect(IdempotencyKey.make(outboxID: outboxID, meter: "m", events: group.events) == killedKey)
        }
    }
}
