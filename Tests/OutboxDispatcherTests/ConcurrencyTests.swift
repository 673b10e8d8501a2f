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
            let summary = try await h.dispatcher {
                $0.concurrency = 16
                $0.batchSize = 10
            }.drainOnce(maxTime: .seconds(30))
            #expect(summary.sent == 400)
            #expect(h.mock.statistics.tokenRequests == 1)
            #expect(summary.tokenRefreshes == 1)
        }
    }

    @Test(arguments: StoreKind.available) func anExpiredLeaseFromACrashedDispatcherIsClaimedAgain(kind: StoreKind) async throws {
        try await Harness.with(kind) { h in
            let texts = try await h.append(100)
            // A dispatcher claims everything, then "crashes": it never settles
            // anything. Its lease (of no time at all) has lapsed at once.
            let crashed = try #require(try await h.outbox.claim(meter: "m", owner: "crashed-dispatcher", limit: 1000, maxBytes: 4 << 20, leaseMilliseconds: 0))
            #expect(crashed.events.count == 100)
            #expect(try await h.status().totals.inflight == 100)
            let summary = try await h.dispatcher().drainOnce(maxTime: .seconds(60))
            #expect(summary.sent == 100 && summary.remaining == 0)
            #expect(Set(h.mock.acceptedEvents(meter: "m")) == Set(texts))
            // The crashed dispatcher's late answer changes nothing.
            var random = SystemRandomNumberGenerator()
            let late = Settlement.plan(.failed(reason: "late"), events: crashed.events, meter: "m", policy: RetryPolicy(), random: &random)
            #expect(try await h.outbox.settle(late, token: crashed.token) == SettlementResult(lost: 100))
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
            let one = try h.dispatcher {
                $0.batchSize = 200
                $0.concurrency = 3
            }
            let two = try h.dispatcher(store: second) {
                $0.batchSize = 200
                $0.concurrency = 3
            }
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
            let dispatcher = try h.dispatcher {
                $0.batchSize = 100
                $0.concurrency = 2
            }
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await dispatcher.run() }
                    try await waitForMock(h.mock, "the mock accepted a few batches") { $0.acceptedEvents >= 300 }
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
            // Time stands still: a worker's 30 s poll never ends by itself.
            let clock = ManualClock()
            let dispatcher = try Dispatcher(
                outbox: h.outbox,
                configuration: h.configuration {
                    $0.pollInterval = .seconds(30)
                    $0.clock = clock
                })
            try await testGracefulShutdown { trigger in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await dispatcher.run() }
                    // Every worker found nothing and sleeps for its poll:
                    // only the append can wake them.
                    try await clock.waitForSleepers(4, atLeast: .seconds(29), "the workers went to sleep")
                    try await h.append(10)
                    try await waitForMock(h.mock, "the mock accepted the appended events") { $0.acceptedEvents == 10 }
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
            let refused = try h.dispatcher { $0.credentials = .oauth(clientID: "mock-client-id", clientSecret: Secret("wrong-secret-value")) }
            _ = try await h.run(refused, until: "the refused token request") { h.mock.statistics.tokenRequests >= 2 }
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
