import Foundation
import Testing
import UsageOutbox
import ZuoraMock

@testable import OutboxDispatcher

/// A dead letter's attempts are the requests that carried its event,
/// whatever they were answered: not the failures the retry limit counts,
/// which leaves out rate limits, "retry later" answers and bisection.
struct DeadLetterAttemptsTests {
    static let poison = #"{"CustomerId":"INVALID-1","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#

    /// Three "retry later" answers (Zuora's internal-error category, as its
    /// 5xx carry), then the 400 that made it dead: four requests, and the
    /// retry limit spent none.
    @Test(arguments: StoreKind.available) func retryLaterAnswersThenARejection(kind: StoreKind) async throws {
        var configuration = MockConfiguration()
        configuration.scriptedRetryableAnswers = [1, 2, 3]
        configuration.retryableCode = 50_000_060
        try await Harness.with(kind, mock: configuration) { h in
            _ = try await h.outbox.append(json: Self.poison, meter: "m")
            let summary = try await h.dispatcher().drainOnce(maxTime: .seconds(60))
            #expect(summary.dead == 1)
            #expect(h.mock.statistics.usageRequests == 4)
            let letter = try #require(try await h.outbox.deadLetters(meter: nil, deadBefore: nil, limit: 10).first)
            #expect(letter.status == 400)
            #expect(letter.attempts == 4)
        }
    }

    /// Zuora down for three requests (plain 500s, each a failure the retry
    /// limit counts), then the 400.
    @Test(arguments: StoreKind.available) func failuresThenARejection(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            _ = try await h.outbox.append(json: Self.poison, meter: "m")
            h.mock.update { $0.down = true }
            _ = try await h.run(try h.dispatcher(), until: "three failed requests") { h.mock.statistics.usageRequests >= 3 }
            let failed = h.mock.statistics.usageRequests
            h.mock.update { $0.down = false }
            #expect(try await h.dispatcher().drainOnce(maxTime: .seconds(60)).dead == 1)
            let letter = try #require(try await h.outbox.deadLetters(meter: nil, deadBefore: nil, limit: 10).first)
            #expect(letter.attempts == failed + 1)
        }
    }

    /// One bad event among eight: the whole batch, then halves, until it
    /// stands alone; every request that carried it counts.
    @Test(arguments: StoreKind.available) func aRejectionFoundByBisection(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            try await h.append(8, quantity: { $0 == 5 ? -1 : 1 })
            let summary = try await h.dispatcher {
                $0.batchSize = 8
                $0.concurrency = 1
            }.drainOnce(maxTime: .seconds(60))
            #expect(summary.dead == 1 && summary.sent == 7)
            let letter = try #require(try await h.outbox.deadLetters(meter: nil, deadBefore: nil, limit: 10).first)
            // [0-7] rejected; [0-3] accepted, so [4-7] is split unsent; [4,5]
            // rejected; [4] accepted, so [5] goes alone: 3 requests carried it.
            #expect(letter.attempts == 3)
        }
    }

    /// The retry limit: the reason says the limit's count, the attempts
    /// every request.
    @Test(arguments: StoreKind.available) func theRetryLimit(kind: StoreKind) async throws {
        var configuration = MockConfiguration()
        configuration.down = true
        configuration.scriptedRateLimits = [1]
        try await Harness.with(kind, mock: configuration) { h in
            _ = try await h.outbox.append(json: Self.poison, meter: "m")
            #expect(try await h.dispatcher { $0.maxAttempts = 2 }.drainOnce(maxTime: .seconds(60)).dead == 1)
            let letter = try #require(try await h.outbox.deadLetters(meter: nil, deadBefore: nil, limit: 10).first)
            #expect(letter.reason.hasPrefix("gave up after 2 attempts"))
            #expect(h.mock.statistics.usageRequests == 3)
            #expect(letter.attempts == 3, "a 429, then two 500s")
        }
    }
}
