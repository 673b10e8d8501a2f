import Foundation
import OutboxCore
import Testing
import UsageOutbox
import ZuoraMock

@testable import OutboxDispatcher

/// Reconcile against an audit trail in the shape Zuora documents, through
/// the mock.
struct ReconcileAsDocumentedTests {
    static func events(_ count: Int, prefix: String) -> [String] {
        (0..<count).map {
            #"{"EventId":"\#(prefix)-\#($0)","CustomerId":"\#(prefix)-\#($0)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#
        }
    }

    /// The answer to the first request is lost (the request times out while
    /// Zuora bills it); the re-send is discarded by the meter's Deduplicator,
    /// which lists each copy as an error. Reconcile counts them as
    /// duplicates: every event stays sent, none is dead-lettered.
    @Test(arguments: StoreKind.available)
    func aResendDiscardedByTheDeduplicatorStaysSent(kind: StoreKind) async throws {
        var mock = MockConfiguration()
        mock.deduplicateBy = "EventId"
        mock.meterIDs = ["m": 101]
        // The first request is billed and its answer never comes; the
        // tenant ignores idempotency keys, so the re-send is billed again.
        mock.scriptedLostAnswers = [1]
        mock.honourIdempotencyKeys = false
        try await Harness.with(kind, mock: mock) { h in
            try await h.outbox.append(jsonEvents: Self.events(10, prefix: "E"), meter: "m")
            let dispatcher = try h.dispatcher {
                $0.batchSize = 10
                $0.requestTimeout = .seconds(1)
                $0.lease = .seconds(5)
            }
            let summary = try await dispatcher.drainOnce(maxTime: .seconds(60))
            #expect(summary.sent == 10 && summary.dead == 0)
            let discarded = h.mock.statistics.duplicatesDiscarded
            #expect(h.mock.statistics.lostAnswers == 1)
            #expect(discarded == 10, "the re-send was discarded: \(discarded)")
            #expect(h.mock.statistics.acceptedEvents == 10, "billed once")
            let reconciler = try Reconciler(store: h.outbox, configuration: h.configuration(), meterIDs: ["m": 101], eventIdField: "EventId")
            let report = try await reconciler.run(since: .seconds(3600))
            #expect(report.totals.duplicatesDiscarded == discarded && report.totals.lateRejected == 0 && report.totals.unmatched == 0)
            let again = try await reconciler.run(since: .seconds(3600))
            #expect(again.totals.alreadyApplied == discarded, "remembered like any entry")
            let status = try await h.status()
            #expect(status.totals.sent == 10 && status.totals.dead == 0)
            #expect(try await h.outbox.verify().isOK)
        }
    }

    /// A meter that renames fields before its failing operator: entries
    /// that kept the event id are matched by it; those that did not match
    /// nothing, and are listed, never guessed.
    @Test(arguments: StoreKind.available)
    func reshapedPayloadsAreMatchedByIdAndTheRestListed(kind: StoreKind) async throws {
        var mock = MockConfiguration()
        mock.lateRejectPrefix = "LATE"
        mock.meterIDs = ["m": 101, "n": 102]
        mock.reshapeAuditPayloads = true
        try await Harness.with(kind, mock: mock) { h in
            try await h.outbox.append(jsonEvents: Self.events(5, prefix: "LATE"), meter: "m")
            _ = try await h.dispatcher().drainOnce(maxTime: .seconds(60))
            h.mock.update { $0.auditPayloadDropsEventId = true }
            try await h.outbox.append(jsonEvents: Self.events(3, prefix: "LATE-n"), meter: "n")
            _ = try await h.dispatcher().drainOnce(maxTime: .seconds(60))
            let reconciler = try Reconciler(store: h.outbox, configuration: h.configuration(), meterIDs: ["m": 101, "n": 102], eventIdField: "EventId")
            let report = try await reconciler.run(since: .seconds(3600))
            #expect(report.meters["m"]?.lateRejected == 5, "matched by the id field inside the renamed payload")
            #expect(report.meters["n"]?.unmatched == 3 && report.meters["n"]?.lateRejected == 0)
            #expect(report.unmatchedEntries.count == 3)
            #expect(report.unmatchedEntries.allSatisfy { $0.meter == "n" && $0.payload.contains("customer id") && $0.errorCode == "CUSTOMER_NOT_FOUND" })
            let status = try await h.status()
            #expect(status.meters["n"]?.counts.sent == 3, "an unmatched entry changes nothing")
        }
    }
}
