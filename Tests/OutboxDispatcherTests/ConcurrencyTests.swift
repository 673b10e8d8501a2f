import Foundation
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing
import UsageOutbox
import ZuoraMock
@testable import OutboxDispatcher

struct ConcurrencyTests {
    @Test(arguments: StoreKind.available) func oneTokenRequestHowEverManyRequestsNeedOne(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            for meter in (0..<8).map({ "meter-\($0)" }) { try await h.append(50, meter: meter) }
            let summary = try await h.dispatcher { $0.concurrency = 16; $0.batchSize = 10 }.drainOnce(maxTime: .seconds(30))
            #expect(summary.sent == 400)
            #expect(h.mock.statistics.tokenRequests == 1)
            #expect(summary.tokenRefreshes == 1)
        }
    }

    @Test(arguments: StoreKind.available) func anExpiredLeaseFromACrashedDispatcherIsClaimedAgain(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            let texts = try await h.append(100)
            // A dispatcher claims everything, then "crashes": it never marks anything.
            let now = WallClock.nowMilliseconds()
            let claimed = try await h.outbox.claim(meter: "m", owner: "crashed-dispatcher", limit: 1000, maxBytes: 4 << 20,
                                                   leaseUntil: now + 800, now: now)
            #expect(claimed.count == 100)
            #expect(try await h.status().totals.inflight == 100)
            let started = ContinuousClock.now
            let summary = try await h.dispatcher().drainOnce(maxTime: .seconds(20))
            #expect(summary.sent == 100 && summary.remaining == 0)
            #expect(started.duration(to: .now) >= .milliseconds(500), "events were taken before the lease expired")
            #expect(Set(h.mock.acceptedEvents(meter: "m")) == Set(texts))
            // The crashed dispatcher's late answer changes nothing.
            let late = try await h.outbox.markFailed(claimed.map(\.rowID), meter: "m", owner: "crashed-dispatcher",
                                                     failure: DeliveryFailure(status: 500, reason: "late"), retryAt: now,
                                                     spendAttempt: true, maxAttempts: 0, now: now)
            #expect(late == MarkResult(failed: 0, dead: 0))
            #expect(try await h.status().totals.sent == 100)
        }
    }

    /// Two dispatchers with their own connections (as two processes would
    /// have) drain one store at once: no event may be sent twice.
    @Test(arguments: StoreKind.available) func twoDispatchersOnOneStoreNeverDoubleSend(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            var texts: [String] = []
            for meter in ["a", "b"] { texts += try await h.append(6000, meter: meter) }
            let second = try await h.openAnother()
            let one = try h.dispatcher { $0.batchSize = 200; $0.concurrency = 3 }
            let two = try h.dispatcher(store: second) { $0.batchSize = 200; $0.concurrency = 3 }
            async let first = one.drainOnce(maxTime: .seconds(60))
            async let other = two.drainOnce(maxTime: .seconds(60))
            let (a, b) = try await (first, other)
            await second.close()
            #expect(a.sent + b.sent == 12_000)
            #expect(a.sent > 0 && b.sent > 0, "both dispatchers should have worked: \(a.sent) / \(b.sent)")
            let stats = h.mock.statistics
            #expect(stats.duplicateEvents == 0)
            #expect(stats.acceptedEvents == 12_000)
            #expect(try await h.status().totals.isConserved)
        }
    }

    @Test(arguments: StoreKind.available) func gracefulShutdownFinishesInFlightWorkAndLeavesNothingClaimed(kind: StoreKind) async throws {
        var configuration = MockConfiguration()
        configuration.delayMilliseconds = 150
        try await Harness.with(kind, mock: configuration) { h in
            try await h.append(5000)
            let dispatcher = try h.dispatcher { $0.batchSize = 100; $0.concurrency = 2 }
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await dispatcher.run() }
                    try await Task.sleep(for: .milliseconds(600))
                    trigger.triggerGracefulShutdown()
                    try await group.waitForAll()
                }
            }
            let status = try await h.status()
            #expect(status.totals.inflight == 0, "a stopped dispatcher must leave no claimed events")
            #expect(status.totals.sent == h.mock.statistics.acceptedEvents)
            #expect(status.totals.sent > 0 && status.totals.sent < 5000)
            #expect(status.totals.pending + status.totals.sent == 5000)
        }
    }

    @Test(arguments: StoreKind.available) func wakesOnAnInProcessAppendWithoutWaitingForThePoll(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            let dispatcher = try Dispatcher(outbox: h.outbox, configuration: h.configuration { $0.pollIntervalSeconds = 30 })
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await dispatcher.run() }
                    // Long enough for the workers to find nothing and go to
                    // sleep for their 30 s poll: only the append can wake them.
                    try await Task.sleep(for: .seconds(1))
                    try await h.append(10)
                    let deadline = ContinuousClock.now + .seconds(10)
                    while h.mock.statistics.acceptedEvents < 10 && ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    trigger.triggerGracefulShutdown()
                    try await group.waitForAll()
                }
            }
            #expect(h.mock.statistics.acceptedEvents == 10)
        }
    }
}

struct SecretTests {
    @Test func secretsNeverAppearInLogsOrTheDatabase() async throws {
        try await Harness.with(.sqlite) { h in
            try await h.append(20)
            _ = try await h.dispatcher().drainOnce(maxTime: .seconds(10))
            // A failing run too: refused credentials log an error.
            try await h.append(5, prefix: "X")
            _ = try await h.dispatcher { $0.credentials = .oauth(clientID: "mock-client-id", clientSecret: Secret("wrong-secret-value")) }
                .drainOnce(maxTime: .milliseconds(300))
            let logs = h.logs.text
            #expect(logs.contains("usage request"), "the capture should hold request logs")
            for secret in ["mock-client-secret", "wrong-secret-value", "mock-token-"] {
                #expect(!logs.contains(secret), "\(secret) leaked into the logs")
            }
            await h.outbox.close()
            let path = h.place.location
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path)) + ((try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data())
            for secret in ["mock-client-secret", "wrong-secret-value", "mock-token-"] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) is in the database file")
            }
        }
    }
}
