import OutboxDispatcher
import Testing
import UsageOutbox

/// An app's own `OutboxStore` (here a wrapper that forwards to the SQLite
/// outbox, as a logging wrapper would): it appends and reports like any
/// store, but its dispatch part is package API it cannot have, so the
/// dispatcher and the reconciler refuse it with a clear error, not a crash.
@Suite struct ForeignStoreTests {
    @Test func theDispatcherRefusesAStoreMadeOutsideThePackage() async throws {
        try await Harness.with { harness in
            let wrapper = ForwardingStore(inner: harness.outbox)
            try await wrapper.append(UsageEvent(customerId: "C", usageIdentifier: "u", usageDate: "2026-11-29T10:00:00Z", quantity: 1), meter: "m")
            #expect(try await wrapper.status().totals.pending == 1)

            let refused = #expect(throws: OutboxError.self) { try Dispatcher(outbox: wrapper, configuration: harness.configuration()) }
            #expect(refused?.code == .invalidConfiguration)
            #expect(refused?.message.contains("ForwardingStore cannot be dispatched or reconciled") == true)
            #expect(refused?.hint?.contains("PostgresOutbox") == true)

            let reconcile = #expect(throws: OutboxError.self) {
                try Reconciler(store: wrapper, configuration: harness.configuration(), meterIDs: ["m": 1], eventIdField: nil)
            }
            #expect(reconcile?.code == .invalidConfiguration)
            // The real store under it is dispatched as ever.
            _ = try Dispatcher(outbox: harness.outbox, configuration: harness.configuration())
        }
    }
}

/// Forwards every public requirement to a store of the package.
private struct ForwardingStore: OutboxStore {
    let inner: any OutboxStore
    var location: String { inner.location }
    func append(jsonEvents: [String], meter: String) async throws -> [EventID] { try await inner.append(jsonEvents: jsonEvents, meter: meter) }
    func appendReporting(jsonEvents: [String], meter: String) async throws -> AppendResult {
        try await inner.appendReporting(jsonEvents: jsonEvents, meter: meter)
    }
    func appendStreamReporting(
        fileDescriptor: Int32, meter: String, progress: (@Sendable (_ bytesRead: Int, _ events: Int) -> Void)?
    ) async throws -> AppendCounts {
        try await inner.appendStreamReporting(fileDescriptor: fileDescriptor, meter: meter, progress: progress)
    }
    func status(now: Int64) async throws -> OutboxStatus { try await inner.status(now: now) }
    func deadLetters(meter: String?, deadBefore: Int64?, limit: Int) async throws -> [DeadLetter] {
        try await inner.deadLetters(meter: meter, deadBefore: deadBefore, limit: limit)
    }
    func deadLetters(_ filter: DeadLetterFilter, limit: Int, withHistory: Bool) async throws -> [DeadLetter] {
        try await inner.deadLetters(filter, limit: limit, withHistory: withHistory)
    }
    func deadLetter(id: String) async throws -> DeadLetter? { try await inner.deadLetter(id: id) }
    func deadLetterTallies(_ filter: DeadLetterFilter) async throws -> [DeadLetterTally] { try await inner.deadLetterTallies(filter) }
    func deadLetterIDs(startingWith prefix: String, meter: String?, limit: Int) async throws -> [String] {
        try await inner.deadLetterIDs(startingWith: prefix, meter: meter, limit: limit)
    }
    func retryDeadLetters(_ selection: DeadLetterSelection) async throws -> Int { try await inner.retryDeadLetters(selection) }
    func purgeDeadLetters(_ selection: DeadLetterSelection) async throws -> Int { try await inner.purgeDeadLetters(selection) }
    func purgeSent(before sentBefore: Int64) async throws -> PurgeResult { try await inner.purgeSent(before: sentBefore) }
    func purgeableSentCount(before sentBefore: Int64) async throws -> Int { try await inner.purgeableSentCount(before: sentBefore) }
    func verify() async throws -> VerifyReport { try await inner.verify() }
    func pauseMeter(_ meter: String, reason: String?) async throws { try await inner.pauseMeter(meter, reason: reason) }
    func resumeMeter(_ meter: String) async throws { try await inner.resumeMeter(meter) }
    func appendNotifications() -> AsyncStream<Void> { inner.appendNotifications() }
    func close() async { await inner.close() }
}
