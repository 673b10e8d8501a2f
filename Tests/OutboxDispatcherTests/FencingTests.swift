import Foundation
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing
import UsageOutbox
import ZuoraMock

@testable import OutboxDispatcher

/// The promise under real timing: a batch that waited is never sent on a
/// lapsed claim, and every wait ends when the worker must stop. Time is a
/// `ManualClock` the test moves; leases lapse by moving it (SQLite) or, on
/// PostgreSQL, whose leases run on the server's clock, by a short real lease.
struct FencingTests {
    /// 200 events, the one at 150 bad. The dispatcher's first request gets a
    /// 400, so it bisects; the first half's request gets a 429 with a 60 s
    /// Retry-After, so the second half (still claimed) waits at the gate
    /// past its lease. Another dispatcher takes the lapsed rows over and
    /// delivers them. When the wait ends, the first renews, finds the rows
    /// gone, and sends nothing: no event reaches Zuora twice.
    ///
    /// On SQLite the store's clock is the test's, so the 30 s lease lapses
    /// when the test moves it; on PostgreSQL leases run on the server's
    /// clock, so the lease is 4 s of real time.
    @Test(arguments: StoreKind.available)
    func aBatchThatWaitedPastItsLeaseIsNeverSent(kind: StoreKind) async throws {
        var mock = MockConfiguration()
        mock.scriptedRateLimits = [2]
        mock.retryAfterSeconds = 60
        let (lease, timeout): (Double, Double) = kind == .sqlite ? (30, 10) : (4, 3)
        try await Harness.with(kind, mock: mock) { h in
            try await h.append(200, quantity: { $0 == 150 ? -1 : 1 })
            let clock = ManualClock()
            let (first, second, stores) = try await Self.twoDispatchers(h, clock: clock, batchSize: 200, lease: lease, timeout: timeout)
            defer { Task { for store in stores { await store.close() } } }
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await first.run() }
                    defer { trigger.triggerGracefulShutdown() }
                    try await clock.waitForSleepers(1, atLeast: .seconds(59), "the first dispatcher waits out the Retry-After, still holding the second half")
                    #expect(h.mock.statistics.usageRequests == 2)
                    // The lease lapses: by the store's clock on SQLite, in real time on PostgreSQL.
                    clock.advance(by: .seconds(31))
                    group.addTask { try await second.run() }
                    // Recorded, too: the mock counts an event when it answers, and
                    // a part still unrecorded when the clock moves on would lapse
                    // in the second's hands and be taken over (a lease lapsing
                    // mid-answer is the one duplicate leases allow).
                    try await waitUntil("the second dispatcher delivered and recorded the lapsed half") {
                        let totals = try await h.status().totals
                        return h.mock.statistics.acceptedEvents == 99 && totals.dead == 1 && totals.inflight == 0
                    }
                    // The Retry-After is over: the first renews, and must find nothing to send.
                    clock.advance(by: .seconds(30))
                    try await waitUntil("the first dispatcher dropped the half it lost") { first.summary.droppedAfterLeaseLoss == 100 }
                    trigger.triggerGracefulShutdown()
                    try await group.waitForAll()
                }
            }
            let stats = h.mock.statistics
            #expect(stats.duplicateEvents == 0, "an event was sent twice")
            #expect(h.logs.text.contains("lease lost on claimed events"))
            #expect(try await h.status().totals.inflight == 0)
            #expect(try await h.outbox.verify().isOK)
        }
    }

    /// A renewal that finds a half lost proves nothing about the next half.
    /// 100 events, the one at 10 bad: the batch gets a 400, its first half a
    /// 400, the first quarter a 429 with a 60 s Retry-After. The second
    /// quarter waits at the gate past its lease, and another dispatcher takes
    /// over the rest (quarter two and the second half) and delivers it. When
    /// the wait ends the first renews the quarter and finds it gone; the
    /// second half must then be renewed too (and found gone), never sent on
    /// the failed renewal's say-so.
    @Test(arguments: StoreKind.available)
    func aHalfAfterALostHalfIsNeverSentWithoutProof(kind: StoreKind) async throws {
        var mock = MockConfiguration()
        mock.scriptedRateLimits = [3]
        mock.retryAfterSeconds = 60
        let (lease, timeout): (Double, Double) = kind == .sqlite ? (30, 10) : (4, 3)
        try await Harness.with(kind, mock: mock) { h in
            try await h.append(100, quantity: { $0 == 10 ? -1 : 1 })
            let clock = ManualClock()
            let (first, second, stores) = try await Self.twoDispatchers(h, clock: clock, batchSize: 100, lease: lease, timeout: timeout)
            defer { Task { for store in stores { await store.close() } } }
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await first.run() }
                    defer { trigger.triggerGracefulShutdown() }
                    try await clock.waitForSleepers(
                        1, atLeast: .seconds(59), "the first dispatcher waits out the Retry-After, holding quarter two and half two")
                    #expect(h.mock.statistics.usageRequests == 3)
                    clock.advance(by: .seconds(31))
                    group.addTask { try await second.run() }
                    try await waitUntil("the second dispatcher delivered and recorded the lapsed 75 events") {
                        let totals = try await h.status().totals
                        return h.mock.statistics.acceptedEvents == 75 && totals.inflight == 0 && totals.failed == 25
                    }
                    clock.advance(by: .seconds(30))
                    try await waitUntil("the first dispatcher dropped both parts it lost") { first.summary.droppedAfterLeaseLoss == 75 }
                    trigger.triggerGracefulShutdown()
                    try await group.waitForAll()
                }
            }
            #expect(h.mock.statistics.duplicateEvents == 0, "the second half went out on a renewal that had failed")
            #expect(try await h.outbox.verify().isOK)
        }
    }

    /// Two dispatchers on two connections to one store, as two processes
    /// would be: the first runs on `clock` (one worker, a batch of
    /// `batchSize`), the second on real time; both with `lease` and `timeout`.
    static func twoDispatchers(_ h: Harness, clock: ManualClock, batchSize: Int, lease: Double, timeout: Double) async throws
        -> (first: Dispatcher, second: Dispatcher, stores: [any OperatedStore])
    {
        let storeA = try await h.place.open(clock: clock)
        let storeB = try await h.place.open(clock: clock)
        let first = try h.dispatcher(store: storeA) {
            $0.clock = clock
            $0.concurrency = 1
            $0.batchSize = batchSize
            $0.lease = .seconds(lease)
            $0.requestTimeout = .seconds(timeout)
            $0.owner = "first"
        }
        let second = try h.dispatcher(store: storeB) {
            $0.concurrency = 1
            $0.lease = .seconds(lease)
            $0.requestTimeout = .seconds(timeout)
            $0.owner = "second"
        }
        return (first, second, [storeA, storeB])
    }

    /// A 120 s Retry-After, then a graceful shutdown (SIGTERM in the CLI):
    /// every wait ends at once, and the claimed half that was waiting is
    /// released, due again at once, not left to its lease.
    @Test(arguments: StoreKind.available)
    func aStopEndsTheWaitAndReleasesTheClaim(kind: StoreKind) async throws {
        var mock = MockConfiguration()
        mock.scriptedRateLimits = [2]
        mock.retryAfterSeconds = 120
        try await Harness.with(kind, mock: mock) { h in
            try await h.append(200, quantity: { $0 == 150 ? -1 : 1 })
            let clock = ManualClock()
            let dispatcher = try h.dispatcher {
                $0.clock = clock
                $0.concurrency = 2
                $0.batchSize = 200
            }
            let finished = Flag()
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try await dispatcher.run()
                        finished.set()
                    }
                    do {
                        try await clock.waitForSleepers(1, atLeast: .seconds(100), "a worker waits out the Retry-After holding a claim")
                    } catch {
                        trigger.triggerGracefulShutdown()
                        throw error
                    }
                    #expect(try await h.status().totals.inflight == 100)
                    trigger.triggerGracefulShutdown()
                    // Time does not move: only the stop can end the wait.
                    try await waitUntil("the dispatcher stopped", timeout: .seconds(10)) { finished.isSet }
                    try await group.waitForAll()
                }
            }
            let status = try await h.status()
            #expect(status.totals.inflight == 0, "a stopping worker gives its claims back")
            #expect(status.totals.pending == 100 && status.totals.failed == 100)
            #expect(try await h.outbox.nextDueDelay().map { $0 <= 0 } == true, "the released half is due at once")
            #expect(h.mock.statistics.usageRequests == 2)
        }
    }

    /// `--max-time` ends a rate-limit wait too.
    @Test func theDeadlineEndsAWait() async throws {
        var mock = MockConfiguration()
        mock.rateLimitRate = 1
        mock.retryAfterSeconds = 120
        try await Harness.with(.sqlite, mock: mock) { h in
            try await h.append(10)
            let clock = ManualClock()
            let dispatcher = try h.dispatcher { $0.clock = clock }
            async let summary = dispatcher.drainOnce(maxTime: .seconds(30))
            // The worker holding the batch waits at the closed gate (until
            // the deadline, which comes first); the idle ones poll.
            let waiting = await clock.sleepersArrive(atLeast: .seconds(29)) { $0 == 1 }
            clock.advance(by: .seconds(30))
            let result = try await summary
            #expect(waiting, "no worker waited at the gate")
            #expect(result.remaining == 10 && result.sent == 0)
            #expect(try await h.status().totals.inflight == 0)
        }
    }

    /// 503s without a hint: one host-wide streak makes each wait longer, so
    /// 15 s of an overloaded host see a handful of requests, not dozens
    /// (each drawn from 0–1 s, as before, would be about 30).
    @Test func unhintedRateLimitsBackOffMoreAndMore() async throws {
        var mock = MockConfiguration()
        mock.rateLimitRate = 1
        mock.rateLimitWith503 = true
        mock.rateLimitWithoutHint = true
        try await Harness.with(.sqlite, mock: mock) { h in
            try await h.append(50)
            let clock = ManualClock()
            // The store on the same clock: deferred events come due as it moves.
            let store = try await h.place.open(clock: clock)
            defer { Task { await store.close() } }
            let dispatcher = try h.dispatcher(store: store) {
                $0.clock = clock
                $0.concurrency = 1
                $0.backoff = BackoffPolicy(base: .seconds(1), cap: .seconds(60))
            }
            async let summary = dispatcher.drainOnce(maxTime: .seconds(15))
            var steps = 0
            // Step time on whenever the worker sleeps (at the gate, or idle).
            while steps < 150, await clock.sleepersArrive({ $0 >= 1 }) {
                clock.advance(by: .milliseconds(100))
                steps += 1
            }
            if steps < 150 { clock.advance(by: .seconds(15)) }
            let result = try await summary
            #expect(steps == 150, "the worker stopped sleeping")
            let requests = h.mock.statistics.usageRequests
            #expect(requests >= 2 && requests <= 12, "\(requests) requests in 15 s of 503s")
            #expect(result.rateLimitWaits == requests)
            #expect(result.remaining == 50)
        }
    }

    /// A 2xx `"success": false` whose body is far larger than the 64 KiB the
    /// client keeps is still a rejection: the bad events become dead letters.
    @Test(arguments: StoreKind.available)
    func aLargeSuccessFalseIsARejection(kind: StoreKind) async throws {
        var mock = MockConfiguration()
        mock.rejectWith200 = true
        mock.rejectionPaddingBytes = 300_000
        try await Harness.with(kind, mock: mock) { h in
            try await h.append(50, quantity: { $0 == 7 || $0 == 40 ? -1 : 1 })
            let summary = try await h.dispatcher { $0.batchSize = 50 }.drainOnce(maxTime: .seconds(30))
            #expect(summary.sent == 48 && summary.dead == 2)
            #expect(h.mock.statistics.acceptedEvents == 48)
            let letters = try await h.outbox.deadLetters(meter: "m", deadBefore: nil, limit: 10)
            #expect(letters.count == 2 && letters.allSatisfy { $0.status == 200 })
        }
    }
}

/// Set once from any task, read from any other.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
