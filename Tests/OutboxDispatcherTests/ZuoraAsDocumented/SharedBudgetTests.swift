import Foundation
import OutboxCore
import Synchronization
import Testing
import UsageOutbox
import ZuoraMock

@testable import OutboxDispatcher

/// One request budget for every dispatcher of an outbox: kept in the store,
/// so two dispatchers (two processes, in production) share the tenant's
/// limits instead of each spending them whole.
struct SharedBudgetTests {
    /// Two dispatchers, each with its own connection to the store, and
    /// `--max-requests-per-minute 4`: four requests in all, then both wait.
    /// On SQLite the store runs on the test's clock: a minute later, four
    /// more. (PostgreSQL keeps the server's time; no minute passes here.)
    @Test(arguments: StoreKind.available)
    func twoDispatchersShareOnePerMinuteBudget(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            try await h.append(20)
            let clock = ManualClock()
            let first = try await h.place.open(clock: clock)
            let second = try await h.place.open(clock: clock)
            defer {
                Task {
                    await first.close()
                    await second.close()
                }
            }
            func dispatcher(_ store: any OperatedStore) throws -> Dispatcher {
                try h.dispatcher(store: store) {
                    $0.clock = clock
                    $0.batchSize = 1
                    $0.concurrency = 2
                    $0.maxRequestsPerMinute = 4
                }
            }
            let (a, b) = (try dispatcher(first), try dispatcher(second))
            async let drainedA = a.drainOnce(maxTime: .seconds(600))
            async let drainedB = b.drainOnce(maxTime: .seconds(600))
            // Both wait for the window (a sleeper each, far out), after four requests.
            // The mock and the clock signal; only the store's count is polled.
            var held = await h.mock.waitUntil(timeout: .seconds(20)) { $0.usageRequests == 4 }
            if held { held = await clock.sleepersArrive(atLeast: .seconds(30)) { $0 >= 2 } }
            if held { held = await eventually { try await h.status().totals.sent == 4 } }
            let inTheFirstMinute = h.mock.statistics.usageRequests
            let holds = try await h.outbox.budgetHolds()
            var inTheSecondMinute = inTheFirstMinute
            if kind == .sqlite {
                clock.advance(by: .seconds(60))
                if await h.mock.waitUntil(timeout: .seconds(20), { $0.usageRequests == 8 }),
                    await clock.sleepersArrive(atLeast: .seconds(30), { $0 >= 2 })
                {
                    _ = await eventually { try await h.status().totals.sent == 8 }
                }
                inTheSecondMinute = h.mock.statistics.usageRequests
            }
            clock.advance(by: .seconds(600))
            _ = try await (drainedA, drainedB)
            #expect(held && inTheFirstMinute == 4, "\(inTheFirstMinute) requests from two dispatchers in one minute (the budget is 4)")
            #expect(holds.first?.budget == "per-minute", "status names the budget: \(holds)")
            if kind == .sqlite { #expect(inTheSecondMinute == 8, "\(inTheSecondMinute) requests after two minutes") }
            #expect(h.mock.statistics.duplicateEvents == 0)
            #expect(try await h.outbox.verify().isOK)
        }
    }

    /// `--max-concurrent-requests 2` across two dispatchers of 4 workers
    /// each, against a slow Zuora: never more than 2 requests in flight.
    @Test(arguments: StoreKind.available)
    func theConcurrencyCapHoldsAcrossDispatchers(kind: StoreKind) async throws {
        var mock = MockConfiguration()
        // Slow enough that a claim (serialised per meter, and slow on a
        // loaded PostgreSQL) always finds the other request still out.
        mock.delayMilliseconds = 400
        try await Harness.with(kind, mock: mock) { h in
            try await h.append(24)
            let other = try await h.openAnother()
            defer { Task { await other.close() } }
            func dispatcher(_ store: any OperatedStore) throws -> Dispatcher {
                try h.dispatcher(store: store) {
                    $0.batchSize = 2
                    $0.concurrency = 4
                    $0.maxConcurrentRequests = 2
                }
            }
            let (a, b) = (try dispatcher(h.outbox), try dispatcher(other))
            async let drainedA = a.drainOnce(maxTime: .seconds(60))
            async let drainedB = b.drainOnce(maxTime: .seconds(60))
            let (summaryA, summaryB) = try await (drainedA, drainedB)
            // Every slot comes back when its request is answered: a leaked
            // one would hold the drain until its lease (30 s) lapsed.
            #expect(summaryA.sent + summaryB.sent == 24)
            #expect(h.mock.statistics.maxInFlight <= 2, "\(h.mock.statistics.maxInFlight) requests in flight at once (the cap is 2)")
            if kind == .sqlite {
                // PostgreSQL claims wait for every older write transaction of
                // the whole (shared, loaded) test cluster, so its overlap is
                // not the cap's to promise.
                #expect(h.mock.statistics.maxInFlight == 2, "the cap is used, not just respected")
            }
        }
    }

    /// A dispatcher that counts only a minute must not forget, for the
    /// others, what a day's budget counts; and a hold ends with the next
    /// admitted request. (On the test's clock, so SQLite only: PostgreSQL
    /// keeps the server's time.)
    @Test func aShortWindowForgetsNothingALongerOneCounts() async throws {
        let place = try await TestStore.make(.sqlite)
        let clock = ManualClock()
        let store = try await place.open(clock: clock)
        try await place.using(store) {
            let day = RequestBudget(windows: [.init(limit: 5, seconds: 86_400)])
            let minute = RequestBudget(windows: [.init(limit: 100, seconds: 60)])
            for _ in 0..<3 { #expect(try await store.admitRequest(holder: "d", budget: day, leaseMilliseconds: 60_000) == .admitted) }
            clock.advance(by: .seconds(120))
            for _ in 0..<2 { #expect(try await store.admitRequest(holder: "m", budget: minute, leaseMilliseconds: 60_000) == .admitted) }
            let refused = try await store.admitRequest(holder: "d", budget: day, leaseMilliseconds: 60_000)
            #expect(refused == .wait(milliseconds: 86_400_000 - 120_000, budget: "per-day"), "five requests today: the sixth waits")
            #expect(try await store.budgetHolds().map(\.budget) == ["per-day"])
            // Requests go again (here, another dispatcher's): the hold ends.
            #expect(try await store.admitRequest(holder: "m", budget: minute, leaseMilliseconds: 60_000) == .admitted)
            #expect(try await store.budgetHolds().isEmpty, "status no longer names a budget once requests go again")
            clock.advance(by: .seconds(86_400))
            #expect(try await store.admitRequest(holder: "d", budget: day, leaseMilliseconds: 60_000) == .admitted)
        }
    }

    /// A crashed dispatcher's slots come back when their lease lapses.
    @Test(arguments: StoreKind.available)
    func aCrashedDispatchersSlotsComeBackWhenTheirLeaseLapses(kind: StoreKind) async throws {
        let place = try await TestStore.make(kind)
        let clock = ManualClock()
        let store = try await place.open(clock: clock)
        try await place.using(store) {
            let budget = RequestBudget(windows: [], maxConcurrent: 1)
            // PostgreSQL keeps leases on the server's clock: a real lease,
            // long enough that "next" is surely refused before it lapses.
            let lease: Int64 = kind == .sqlite ? 60_000 : 3_000
            #expect(try await store.admitRequest(holder: "crashed", budget: budget, leaseMilliseconds: lease) == .admitted)
            let refused = try await store.admitRequest(holder: "next", budget: budget, leaseMilliseconds: lease)
            #expect(refused == .wait(milliseconds: RequestBudget.concurrencyPollMilliseconds, budget: "concurrency"))
            // The crashed holder never finishes: its lease lapses.
            if kind == .sqlite { clock.advance(by: .milliseconds(lease + 1)) }
            try await waitUntil("the lapsed slot is free") {
                try await store.admitRequest(holder: "next", budget: budget, leaseMilliseconds: lease) == .admitted
            }
            // A finished request gives its slot back at once.
            try await store.finishRequest(holder: "next")
            #expect(try await store.admitRequest(holder: "third", budget: budget, leaseMilliseconds: 60_000) == .admitted)
        }
    }
}

/// Zuora as its documentation says it answers, through the mock.
struct ZuoraAsDocumentedDeliveryTests {
    /// 200 `"success": false` with a lock-competition code, three times:
    /// retried like a 5xx, never split, never dead-lettered.
    @Test(arguments: StoreKind.available)
    func retryLaterAnswersAreRetriedNeitherSplitNorDeadLettered(kind: StoreKind) async throws {
        var mock = MockConfiguration()
        mock.scriptedRetryableAnswers = [1, 2, 3]
        try await Harness.with(kind, mock: mock) { h in
            try await h.append(8)
            let summary = try await h.dispatcher {
                $0.batchSize = 8
                $0.maxAttempts = 1  // nothing to spend: a retry later costs no attempt
            }.drainOnce(maxTime: .seconds(60))
            #expect(summary.sent == 8 && summary.dead == 0)
            #expect(h.mock.statistics.usageRequests == 4, "three answers to retry and one acceptance; a split would take more")
            #expect(try await h.status().totals.dead == 0)
        }
    }

    /// Three 200s in a row whose code says "request limit" (…70), with no
    /// hint: each is a rate limit, and none resets the host-wide streak
    /// (a reset would turn them into a storm of short waits).
    @Test func limitAnswersIn2xxGrowTheBackoffStreak() async throws {
        var mock = MockConfiguration()
        mock.scriptedRetryableAnswers = [1, 2, 3]
        mock.retryableCode = 50_000_070
        try await Harness.with(.sqlite, mock: mock) { h in
            try await h.append(4)
            let summary = try await h.dispatcher {
                $0.batchSize = 4
                $0.concurrency = 1
            }.drainOnce(maxTime: .seconds(60))
            #expect(summary.sent == 4 && summary.dead == 0 && summary.rateLimitWaits == 3)
            let streaks = h.logs.all.filter { $0.contains("rate limited; holding all requests") }.compactMap { line in
                line.range(of: #"streak": \d+"#, options: .regularExpression).map { line[$0].filter(\.isNumber) }
            }
            #expect(streaks == ["1", "2", "3"], "\(h.logs.all.filter { $0.contains("rate limited") })")
        }
    }

    /// The token endpoint refuses twice (429); with `--max-attempts 1`
    /// nothing dies for it: the wait is the host's, not the events'.
    @Test(arguments: StoreKind.available)
    func tokenRateLimitsSpendNoAttempt(kind: StoreKind) async throws {
        var mock = MockConfiguration()
        mock.scriptedTokenRateLimits = [1, 2]
        try await Harness.with(kind, mock: mock) { h in
            try await h.append(100)
            let summary = try await h.dispatcher {
                $0.maxAttempts = 1
                $0.batchSize = 100
            }.drainOnce(maxTime: .seconds(60))
            #expect(summary.dead == 0 && summary.sent == 100)
            #expect(h.mock.statistics.tokenRateLimited == 2)
        }
    }

    /// A dead letter keeps the `Zuora-Request-Id` of the answer that made it.
    @Test(arguments: StoreKind.available)
    func aDeadLetterKeepsZuorasRequestID(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            try await h.append(1, quantity: { _ in -1 })
            _ = try await h.dispatcher().drainOnce(maxTime: .seconds(60))
            let letter = try #require(try await h.outbox.deadLetters(meter: "m", deadBefore: nil, limit: 1).first)
            #expect(letter.requestID.map { UUID(uuidString: $0) != nil } == true, "request id: \(letter.requestID ?? "none")")
        }
    }
}
