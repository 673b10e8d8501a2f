import Foundation
import Testing
import UsageOutbox
import ZuoraMock

@testable import OutboxDispatcher

/// The answer table, end to end: real SQLite, real HTTP to the mock.
struct DeliveryTests {
    @Test(arguments: StoreKind.available) func deliversEveryEventOnceAcrossMetersExactlyAsAppended(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            var appended: [String: [String]] = [:]
            for meter in ["api-calls", "storage", "seats"] {
                appended[meter] = try await h.append(2500, meter: meter)
            }
            let summary = try await h.dispatcher { $0.batchSize = 400 }.drainOnce(maxTime: .seconds(60))
            #expect(summary.sent == 7500)
            #expect(summary.remaining == 0)
            #expect(summary.dead == 0)
            for (meter, texts) in appended {
                #expect(Set(h.mock.acceptedEvents(meter: meter)) == Set(texts), "\(meter) events differ from what was appended")
            }
            let stats = h.mock.statistics
            #expect(stats.duplicateEvents == 0)
            #expect(stats.largestBatch <= 400)
            #expect(stats.gzipRequests == stats.usageRequests)
            #expect(stats.tokenRequests == 1)
            let status = try await h.status()
            #expect(status.totals.sent == 7500 && status.totals.undelivered == 0)
            #expect(status.totals.isConserved)
        }
    }

    @Test(arguments: StoreKind.available) func respectsTheByteBudgetAndSendsPlainJSONWithNoGzip(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            try await h.append(300)
            let summary = try await h.dispatcher {
                $0.maxBatchBytes = 4096
                $0.gzip = false
            }.drainOnce(maxTime: .seconds(30))
            #expect(summary.sent == 300)
            let stats = h.mock.statistics
            #expect(stats.gzipRequests == 0)
            // ~86-byte events: at most ~46 fit in 4 KiB.
            #expect(stats.largestBatch < 50)
            #expect(stats.acceptedRequests >= 300 / 50)
        }
    }

    @Test(arguments: StoreKind.available, [false, true])
    func bisectsARejectedBatchDownToThePoisonEvents(kind: StoreKind, rejectWith200: Bool) async throws {
        var configuration = MockConfiguration()
        configuration.rejectWith200 = rejectWith200
        try await Harness.with(kind, mock: configuration) { h in
            let n = 1000
            let poison: Set<Int> = [17, 500, 983]
            let texts = try await h.append(n, quantity: { poison.contains($0) ? -1 : 1 })
            let summary = try await h.dispatcher {
                $0.batchSize = n
                $0.concurrency = 1
            }.drainOnce(maxTime: .seconds(60))
            #expect(summary.sent == n - poison.count)
            #expect(summary.dead == poison.count)
            #expect(summary.remaining == 0)
            let accepted = Set(h.mock.acceptedEvents(meter: "m"))
            for (index, text) in texts.enumerated() {
                #expect(accepted.contains(text) == !poison.contains(index))
            }
            // k bad among n: about k·log2(n) extra requests, never a retry storm.
            let bound = 1 + poison.count * 2 * Int(log2(Double(n)).rounded(.up))
            #expect(summary.requests <= bound, "took \(summary.requests) requests")
            let status = try await h.status()
            #expect(status.totals.dead == poison.count)
            #expect(status.totals.failed == 0, "bisection must not spend retry attempts")
        }
    }

    @Test(arguments: StoreKind.available) func fetchesANewTokenOnA401AndResendsOnce(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            try await h.append(10)
            let dispatcher = try h.dispatcher()
            #expect(try await dispatcher.drainOnce(maxTime: .seconds(60)).sent == 10)
            h.mock.revokeTokens()
            try await h.append(10, prefix: "D")
            let summary = try await dispatcher.drainOnce(maxTime: .seconds(60))
            #expect(summary.sent == 20)
            let stats = h.mock.statistics
            #expect(stats.tokenRequests == 2)
            #expect(stats.unauthorizedRequests == 1)
            #expect(stats.acceptedEvents == 20)
        }
    }

    @Test(arguments: StoreKind.available) func aRefusedTokenIsAConfigurationProblemNeverADeadLetter(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            try await h.append(5)
            let dispatcher = try h.dispatcher {
                $0.credentials = .bearer(Secret("wrong-token"))
                $0.maxAttempts = 1
            }
            // Refused twice over (a retry after the first refusal): attempts are never spent.
            let summary = try await h.run(dispatcher, until: "the refusal was seen twice") { h.mock.statistics.unauthorizedRequests >= 2 }
            #expect(summary.sent == 0 && summary.dead == 0)
            #expect(try await h.outbox.undeliveredCount() == 5)
            let meter = try #require(try await h.status().meters["m"])
            #expect(meter.lastStatus == 401)
            #expect(meter.counts.dead == 0)
        }
    }

    @Test(arguments: StoreKind.available, [403, 404])
    func permissionAndUnknownMeterAreRetriedNotDeadLettered(kind: StoreKind, status: Int) async throws {
        var configuration = MockConfiguration()
        if status == 403 { configuration.forbiddenMeters = ["m"] } else { configuration.unknownMeters = ["m"] }
        try await Harness.with(kind, mock: configuration) { h in
            try await h.append(20)
            let dispatcher = try h.dispatcher { $0.maxAttempts = 1 }
            // Until a retry was refused again (a second round): attempts are never spent.
            let first = try await h.run(dispatcher, until: "a retry of the refused batch") { h.mock.statistics.usageRequests >= 2 }
            #expect(first.dead == 0)
            #expect(try await h.outbox.undeliveredCount() == 20)
            let meter = try #require(try await h.status().meters["m"])
            #expect(meter.lastStatus == status)
            #expect(meter.lastError?.contains(status == 404 ? "not found" : "forbids") == true)
            // The operator fixes the configuration; the events go through.
            h.mock.update {
                $0.forbiddenMeters = []
                $0.unknownMeters = []
            }
            let second = try await dispatcher.drainOnce(maxTime: .seconds(60))
            #expect(second.remaining == 0)
            #expect(h.mock.statistics.acceptedEvents == 20)
        }
    }

    @Test(arguments: StoreKind.available) func splitsOversizedBatchesAndDeadLettersAnEventTooLargeAlone(kind: StoreKind) async throws {
        var configuration = MockConfiguration()
        configuration.maxBodyBytes = 3000
        try await Harness.with(kind, mock: configuration) { h in
            try await h.append(200)
            let huge =
                #"{"CustomerId":"big","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1,"pad":"\#(String(repeating: "x", count: 5000))"}"#
            try await h.outbox.append(json: huge, meter: "m")
            let summary = try await h.dispatcher { $0.batchSize = 200 }.drainOnce(maxTime: .seconds(30))
            #expect(summary.sent == 200)
            #expect(summary.dead == 1)
            #expect(h.mock.statistics.acceptedEvents == 200)
        }
    }

    @Test(arguments: StoreKind.available, [false, true])
    func honoursRetryAfterForEveryRequest(kind: StoreKind, asHTTPDate: Bool) async throws {
        var configuration = MockConfiguration()
        configuration.rateLimitRate = 0.3
        // A client that ignored Retry-After would retry within the 0.2 s
        // backoff cap, well inside the window from the grace to the 2 s.
        configuration.retryAfterSeconds = 2
        configuration.retryAfterGraceSeconds = 0.75
        configuration.retryAfterAsHTTPDate = asHTTPDate
        configuration.rateLimitWith503 = asHTTPDate
        configuration.seed = 42
        try await Harness.with(kind, mock: configuration) { h in
            try await h.append(1000)
            let started = ContinuousClock.now
            let summary = try await h.dispatcher {
                $0.batchSize = 100
                $0.concurrency = 4
            }.drainOnce(maxTime: .seconds(90))
            let stats = h.mock.statistics
            #expect(summary.remaining == 0 && summary.dead == 0)
            #expect(stats.acceptedEvents == 1000)
            #expect(stats.rateLimited > 0)
            #expect(stats.retryAfterViolations == 0, "a request was sent before Retry-After had passed")
            #expect(started.duration(to: .now) >= .seconds(2))
            #expect(summary.rateLimitWaits > 0)
        }
    }

    @Test(arguments: StoreKind.available) func survivesServerErrorsDropsAndTimeoutsWithoutLosingOrDeadLettering(kind: StoreKind) async throws {
        var configuration = MockConfiguration()
        configuration.failureRate = 0.3
        configuration.dropRate = 0.1
        configuration.hangRate = 0.03
        configuration.seed = 7
        try await Harness.with(kind, mock: configuration) { h in
            let texts = try await h.append(3000)
            let summary = try await h.dispatcher {
                $0.batchSize = 100
                $0.requestTimeout = .milliseconds(500)
                $0.lease = .seconds(3)
            }
            .drainOnce(maxTime: .seconds(120))
            #expect(summary.remaining == 0)
            #expect(summary.dead == 0)
            #expect(Set(h.mock.acceptedEvents(meter: "m")) == Set(texts))
            let stats = h.mock.statistics
            #expect(stats.injectedFailures > 0 && stats.injectedDrops > 0)
            #expect(try await h.status().totals.isConserved)
        }
    }

    @Test(arguments: StoreKind.available) func givesUpAfterMaxAttemptsWithAReasonThatSaysSo(kind: StoreKind) async throws {
        var configuration = MockConfiguration()
        configuration.down = true
        try await Harness.with(kind, mock: configuration) { h in
            try await h.append(5)
            let summary = try await h.dispatcher { $0.maxAttempts = 3 }.drainOnce(maxTime: .seconds(60))
            #expect(summary.dead == 5 && summary.remaining == 0)
            let letters = try await h.outbox.deadLetters(meter: "m", deadBefore: nil, limit: 10)
            #expect(letters.count == 5)
            #expect(
                letters.allSatisfy { $0.reason.hasPrefix("gave up after 3 attempts") && $0.attempts == 3 && $0.status == 500 },
                "\(letters.first?.reason ?? "none")")
        }
    }

    @Test(arguments: StoreKind.available) func zuoraDownForAWholeRunLosesNothingAndBacksOffWithinTheCap(kind: StoreKind) async throws {
        var configuration = MockConfiguration()
        configuration.down = true
        try await Harness.with(kind, mock: configuration) { h in
            try await h.append(50)
            // Until Zuora has refused a few retries: an event, not a time.
            let summary = try await h.run(
                try h.dispatcher { $0.backoff = BackoffPolicy(base: .milliseconds(50), cap: .milliseconds(300)) },
                until: "three refused requests"
            ) { h.mock.statistics.usageRequests >= 3 }
            #expect(summary.sent == 0 && summary.dead == 0)
            #expect(try await h.outbox.undeliveredCount() == 50)
            let status = try await h.status()
            let nextRetry = try #require(status.nextRetryAt)
            let wait = nextRetry - WallClock.nowMilliseconds()
            #expect(wait <= 300, "a retry was scheduled \(wait) ms out, past the 300 ms cap")
            #expect(status.meters["m"]?.lastStatus == 500)
            #expect(summary.requests >= 3, "it kept retrying")
            #expect(status.totals.undelivered == 50 && status.totals.isConserved)
            // Zuora comes back: everything goes through.
            h.mock.update { $0.down = false }
            #expect(try await h.dispatcher().drainOnce(maxTime: .seconds(60)).remaining == 0)
            #expect(h.mock.statistics.acceptedEvents == 50)
        }
    }
}
