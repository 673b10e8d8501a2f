import Foundation
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing
import UsageOutbox
import ZuoraMock

@testable import OutboxDispatcher

/// Against a real tenant's behaviour, through the mock: rejections after
/// the 200 found in the audit trail, request-rate limits, and pausing.
struct ReconcileTests {
    /// 620 events Mediation rejects after the 200 (two pages of the audit
    /// trail), half matched by the producer's own EventId, half by content,
    /// among 30 it accepts. Reconcile dead-letters exactly the 620, once.
    @Test(arguments: StoreKind.available)
    func findsRejectionsAfterThe200AcrossPagesByIdAndByContent(kind: StoreKind) async throws {
        var mock = MockConfiguration()
        mock.lateRejectPrefix = "LATE"
        mock.meterIDs = ["m": 101]
        try await Harness.with(kind, mock: mock) { h in
            let late = (0..<620).map { index in
                index % 2 == 0
                    ? #"{"EventId":"producer-\#(index)","CustomerId":"LATE-\#(index)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
                    : #"{"CustomerId":"LATE-\#(index)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":\#(index)}"#
            }
            try await h.outbox.append(jsonEvents: late, meter: "m")
            try await h.append(30)
            let summary = try await h.dispatcher().drainOnce(maxTime: .seconds(30))
            #expect(summary.sent == 650)
            let reconciler = try Reconciler(store: h.outbox, configuration: h.configuration(), meterIDs: ["m": 101], eventIdField: "EventId")
            let first = try await reconciler.run(since: .seconds(3600))
            #expect(first.totals.entries == 620 && first.totals.lateRejected == 620 && first.totals.unmatched == 0)
            #expect(h.mock.statistics.auditRequests == 2, "500 entries a page: two pages")
            let again = try await reconciler.run(since: .seconds(3600))
            #expect(again.totals.entries == 620 && again.totals.alreadyApplied == 620 && again.totals.lateRejected == 0, "idempotent")
            let status = try await h.status()
            #expect(status.totals.sent == 30 && status.totals.dead == 620 && status.meters["m"]?.lateRejected == 620)
            #expect(try await h.outbox.verify().isOK)
            let letters = try await h.outbox.deadLetters(meter: "m", deadBefore: nil, limit: 1000)
            #expect(Set(letters.map(\.event)) == Set(late), "each dead letter is the event exactly as appended")
            #expect(letters.allSatisfy { $0.reason.hasPrefix("rejected by Zuora after acceptance: CUSTOMER_NOT_FOUND:") && $0.status == nil })
            #expect(letters.allSatisfy { ($0.responseBody ?? "").contains("\"traceId\"") })
        }
    }

    @Test func aMeterWithoutAnIdAndAnUnreachableZuoraAreErrors() async throws {
        try await Harness.with(.sqlite) { h in
            let reconciler = try Reconciler(store: h.outbox, configuration: h.configuration(), meterIDs: ["m": 101], eventIdField: nil)
            await #expect(throws: Reconciler.Failure.self) { try await reconciler.run(meters: ["other"], since: .seconds(60)) }
            // Nothing listens on port 1: every attempt is refused.
            let nowhere = try Reconciler(
                store: h.outbox,
                configuration: h.configuration {
                    $0.baseURL = "http://127.0.0.1:1"
                    $0.credentials = .bearer(Secret("t"))
                    $0.connectTimeout = .milliseconds(200)
                },
                meterIDs: ["m": 101], eventIdField: nil)
            let error = await #expect(throws: Reconciler.Failure.self) { try await nowhere.run(since: .seconds(60)) }
            guard case .unreachable = error else {
                Issue.record("expected unreachable, got \(String(describing: error))")
                return
            }
        }
    }

    /// `--max-requests-per-minute 3`: three requests, then the workers wait
    /// for the window, however many events are due.
    @Test func aRequestRateLimitHoldsEveryWorker() async throws {
        try await Harness.with(.sqlite) { h in
            try await h.append(10)
            let clock = ManualClock()
            let store = try await h.place.open(clock: clock)
            defer { Task { await store.close() } }
            let dispatcher = try h.dispatcher(store: store) {
                $0.clock = clock
                $0.batchSize = 1
                $0.maxRequestsPerMinute = 3
            }
            async let summary = dispatcher.drainOnce(maxTime: .seconds(600))
            // Each window's answers are recorded before the clock moves: moving it
            // past a lease while an answer is unrecorded would lapse that claim.
            // The mock and the clock signal; only the store's count is polled.
            var firstWindow = await h.mock.waitUntil(timeout: .seconds(20)) { $0.usageRequests == 3 }
            if firstWindow { firstWindow = await clock.sleepersArrive(atLeast: .seconds(59)) { $0 >= 1 } }
            if firstWindow { firstWindow = await eventually { try await h.status().totals.sent == 3 } }
            let requestsBefore = h.mock.statistics.usageRequests
            clock.advance(by: .seconds(60))
            // The mock and the clock signal; only the store's count is polled.
            var secondWindow = await h.mock.waitUntil(timeout: .seconds(20)) { $0.usageRequests == 6 }
            if secondWindow { secondWindow = await clock.sleepersArrive(atLeast: .seconds(59)) { $0 >= 1 } }
            if secondWindow { secondWindow = await eventually { try await h.status().totals.sent == 6 } }
            let requestsAfter = h.mock.statistics.usageRequests
            clock.advance(by: .seconds(600))
            let result = try await summary
            #expect(firstWindow && requestsBefore == 3, "\(requestsBefore) requests in the first minute")
            #expect(secondWindow && requestsAfter == 6, "\(requestsAfter) requests by the second minute")
            #expect(result.sent >= 6)
        }
    }

    /// A 200 saying the quota is spent (`RateLimit-Remaining: 0`): the next
    /// request waits for `RateLimit-Reset` instead of earning a 429.
    @Test func aSpentQuotaPausesBeforeA429() async throws {
        var mock = MockConfiguration()
        mock.quotaExhaustedResetSeconds = 30
        try await Harness.with(.sqlite, mock: mock) { h in
            try await h.append(3)
            let clock = ManualClock()
            let dispatcher = try h.dispatcher {
                $0.clock = clock
                $0.batchSize = 1
                $0.concurrency = 1
            }
            async let summary = dispatcher.drainOnce(maxTime: .seconds(600))
            let paused = await clock.sleepersArrive(atLeast: .seconds(29)) { $0 >= 1 }
            let requests = h.mock.statistics.usageRequests
            clock.advance(by: .seconds(30))
            let resumed = await h.mock.waitUntil(timeout: .seconds(20)) { $0.usageRequests == 2 }
            clock.advance(by: .seconds(600))
            _ = try await summary
            #expect(paused && requests == 1, "\(requests) requests before the quota reset")
            #expect(resumed)
            #expect(h.mock.statistics.rateLimited == 0)
        }
    }

    /// Pausing one meter while a drain runs: its events stop going out (at
    /// most the batches already on the wire), the other meter's go on; on
    /// resume, the rest go, each once.
    @Test(arguments: StoreKind.available)
    func pauseAndResumeWithADrainRunning(kind: StoreKind) async throws {
        var mock = MockConfiguration()
        mock.delayMilliseconds = 20
        try await Harness.with(kind, mock: mock) { h in
            try await h.append(2000, meter: "a", prefix: "A")
            try await h.append(2000, meter: "b", prefix: "B")
            let dispatcher = try h.dispatcher {
                $0.batchSize = 100
                $0.concurrency = 2
            }
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await dispatcher.run() }
                    defer { trigger.triggerGracefulShutdown() }
                    try await waitForMock(h.mock, "meter a is under way") { $0.acceptedByMeter["a", default: 0] >= 200 }
                    try await h.outbox.pauseMeter("a", reason: "test")
                    let atPause = h.mock.statistics.acceptedByMeter["a", default: 0]
                    try await waitForMock(h.mock, "meter b is delivered") { $0.acceptedByMeter["b", default: 0] == 2000 }
                    let whilePaused = h.mock.statistics.acceptedByMeter["a", default: 0]
                    #expect(whilePaused <= atPause + 200, "\(whilePaused - atPause) events of a paused meter went out")
                    #expect(try await h.status().meters["a"]?.counts.pending ?? 0 > 0)
                    try await h.outbox.resumeMeter("a")
                    try await waitForMock(h.mock, "meter a is delivered after resuming") { $0.acceptedByMeter["a", default: 0] == 2000 }
                    trigger.triggerGracefulShutdown()
                    try await group.waitForAll()
                }
            }
            #expect(h.mock.statistics.duplicateEvents == 0)
            #expect(try await h.outbox.verify().isOK)
        }
    }

    /// `drain --once` does not wait for a paused meter's events: it reports
    /// them apart and is done when only they remain.
    @Test(arguments: StoreKind.available)
    func drainOnceLeavesAPausedMeterAlone(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            try await h.append(50, meter: "a")
            try await h.append(20, meter: "b")
            try await h.outbox.pauseMeter("a", reason: nil)
            let summary = try await h.dispatcher().drainOnce(maxTime: .seconds(30))
            #expect(summary.sent == 20 && summary.remaining == 0 && summary.paused == 50)
            #expect(h.mock.statistics.acceptedByMeter["a"] == nil)
        }
    }
}
