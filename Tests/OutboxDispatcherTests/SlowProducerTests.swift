import Foundation
import Testing

@testable import OutboxCore

/// A producer piping slowly into `outbox append` must hold up nobody: not
/// the other producers, and not the claims of their events (on PostgreSQL an
/// open transaction would hold back the horizon below which events are
/// final, for every meter on the server).
struct SlowProducerTests {
    @Test(arguments: StoreKind.available)
    func aPipeLeftOpenHoldsBackNoOtherProducersEvents(kind: StoreKind) async throws {
        try await StoreBehaviourTests().withStore(kind) { (store: any OperatedStore, _: TestStore) async throws in
            let (readEnd, writeEnd) = PipeInput.make()
            let slow = Task { try await store.appendStream(fileDescriptor: readEnd, meter: "slow", progress: nil) }
            // 12,000 events written (two chunks of a transaction on PostgreSQL, were it open), and the pipe left open: the producer is slow.
            let lines = (0..<12_000).map { StoreBehaviourTests.event("slow-\($0)") }.joined(separator: "\n") + "\n"
            let writer = PipeInput.write(Array(lines.utf8), to: writeEnd, thenClose: false)
            await writer.value
            let quick = try await store.append(jsonEvents: (0..<50).map { StoreBehaviourTests.event("quick-\($0)") }, meter: "quick")
            let claim = try #require(
                try await store.claim(meter: "quick", owner: "o", limit: 100, maxBytes: 1 << 20, leaseMilliseconds: 60_000),
                "another producer's events are claimable while the pipe is open")
            #expect(claim.events.map(\.eventID) == quick.map(\.value))
            close(writeEnd)
            #expect(try await slow.value == 12_000)
            close(readEnd)
            #expect(try await store.status().meters["slow"]?.counts.pending == 12_000)
        }
    }
}
