import AsyncHTTPClient
import Logging
import Metrics

/// Finds the events Zuora rejected after answering 200 (Mediation validates
/// after the API does) and dead-letters them: reads each meter's audit
/// trail ERROR entries for a window, matches each entry to a sent event
/// (`LateRejectionMatcher`), and moves the matches from sent to dead, with
/// Zuora's code and message as the reason and the entry as the response
/// body. Idempotent: each entry is acted on once, remembered by trace id.
public final class Reconciler: Sendable {
    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// A meter to reconcile has no numeric meter id.
        case noMeterID(String)
        /// The meter id names no meter of this tenant.
        case noSuchMeter(String, Int64)
        /// Zuora refused (credentials, permission).
        case refused(String)
        /// Zuora could not be read now; matches already applied stay applied.
        case unreachable(String)

        public var description: String {
            switch self {
            case .noMeterID(let meter): "meter \(meter) has no known meter id, so its audit trail cannot be read"
            case .noSuchMeter(let meter, let id): "Zuora has no meter with id \(id) (mapped from \(meter)); HTTP 404"
            case .refused(let message): message
            case .unreachable(let message): message
            }
        }
    }

    private let store: any OperatedStore
    let configuration: DispatcherConfiguration
    let meterIDs: [String: Int64]
    private let eventIdField: String?
    let tokens: TokenProvider
    let endpoint: ZuoraEndpoint
    /// The shared request budgets audit reads take from, as usage requests do.
    let budget: SharedRequestBudget
    private let lateRejections = Counter(label: "outbox_late_rejections_total")
    private let runs: [String: Counter] = Dictionary(
        uniqueKeysWithValues: ["ok", "failed"].map {
            ($0, Counter(label: "outbox_reconcile_runs_total", dimensions: [("result", $0)]))
        })

    /// `meterIDs` maps meter global ids (the upload URL's) to Zuora's numeric
    /// meter ids, which the audit trail is keyed by.
    public init(store: any OutboxStore, configuration: DispatcherConfiguration, meterIDs: [String: Int64], eventIdField: String?) throws {
        try configuration.validate()
        endpoint = try ZuoraEndpoint(baseURL: configuration.baseURL, allowInsecureHTTP: configuration.allowInsecureHTTP)
        tokens = TokenProvider(
            credentials: configuration.credentials, endpoint: endpoint,
            timeout: configuration.requestTimeout, trackIDPrefix: configuration.trackIDPrefix,
            logger: configuration.logger)
        let store = try OutboxError.operated(store)
        self.store = store
        budget = SharedRequestBudget(store: store, configuration: configuration)
        self.configuration = configuration
        self.meterIDs = meterIDs
        self.eventIdField = eventIdField
    }

    /// Reconciles `meters` (nil: every meter with a known id) over the last
    /// `since`. Meters are done one after another, each page applied as it
    /// is read; a failure stops the run, keeping what was applied.
    public func run(meters: [String]? = nil, since: Duration) async throws -> ReconcileReport {
        let chosen = meters ?? meterIDs.keys.sorted()
        for meter in chosen where meterIDs[meter] == nil { throw Failure.noMeterID(meter) }
        let http = ZuoraClient.makeHTTPClient(configuration: configuration, maxDecompressedBytes: AuditTrailClient.maxBodyBytes)
        let client = AuditTrailClient(http: http, endpoint: endpoint, tokens: tokens, configuration: configuration, budget: budget)
        let to = configuration.clock.wallMilliseconds()
        let from = to - since.milliseconds
        var report = ReconcileReport()
        do {
            for meter in chosen {
                report.meters[meter] = try await reconcile(
                    meter, meterID: meterIDs[meter]!, from: from, to: to, client: client, unmatched: &report.unmatchedEntries)
            }
        } catch {
            runs["failed"]?.increment()
            try? await http.shutdown()
            throw error
        }
        runs["ok"]?.increment()
        try? await http.shutdown()
        return report
    }

    /// Most pages read for one meter in one run, and most entries: a run
    /// ends, whatever the audit trail answers.
    static let maxPagesPerMeter = 200
    static let maxEntriesPerRun = 100_000

    private func reconcile(
        _ meter: String, meterID: Int64, from: Int64, to: Int64, client: AuditTrailClient, unmatched: inout [ReconcileReport.UnmatchedEntry]
    ) async throws -> ReconcileReport.Counts {
        var counts = ReconcileReport.Counts()
        var cursor: String?
        var seenCursors = Set<String>()
        var pages = 0
        repeat {
            pages += 1
            let page: AuditTrailPage
            do {
                page = try await client.page(meterID: meterID, from: from, to: to, cursor: cursor)
            } catch {
                switch error {
                case .noSuchMeter(let id): throw Failure.noSuchMeter(meter, id)
                case .refused(let message): throw Failure.refused(message)
                case .unreachable(let message): throw Failure.unreachable(message)
                }
            }
            counts += try await apply(page.entries, meter: meter, unmatched: &unmatched)
            cursor = page.nextPage
            if let next = cursor, !seenCursors.insert(next).inserted {
                configuration.logger.warning(
                    "the audit trail repeated a page cursor; this meter's reconcile stops here",
                    metadata: ["meter": "\(meter)", "pages": .stringConvertible(pages)])
                counts.truncated = true
                break
            }
            if cursor != nil && (pages >= Self.maxPagesPerMeter || counts.entries >= Self.maxEntriesPerRun) {
                configuration.logger.warning(
                    "the audit trail has more pages than one reconcile run reads; the rest waits for the next run",
                    metadata: ["meter": "\(meter)", "pages": .stringConvertible(pages), "entries": .stringConvertible(counts.entries)])
                counts.truncated = true
                break
            }
        } while cursor != nil
        configuration.logger.info(
            "reconciled",
            metadata: [
                "meter": "\(meter)", "entries": .stringConvertible(counts.entries), "late_rejected": .stringConvertible(counts.lateRejected),
                "already_dead": .stringConvertible(counts.alreadyDead), "already_applied": .stringConvertible(counts.alreadyApplied),
                "unmatched": .stringConvertible(counts.unmatched),
                "duplicates_discarded": .stringConvertible(counts.duplicatesDiscarded),
            ])
        return counts
    }

    /// One page: leave out what an earlier run acted on, set aside what a
    /// Deduplicator reported (a discarded copy: its event stays sent), match
    /// the rest, apply the late rejections and remember the entries, in one
    /// transaction.
    private func apply(_ entries: [AuditEntry], meter: String, unmatched: inout [ReconcileReport.UnmatchedEntry]) async throws
        -> ReconcileReport.Counts
    {
        var counts = ReconcileReport.Counts()
        counts.entries = entries.count
        guard !entries.isEmpty else { return counts }
        let applied = try await store.appliedAuditEntries(meter: meter, traceIDs: entries.map(\.traceID))
        let unseen = entries.filter { !applied.contains($0.traceID) }
        counts.alreadyApplied = entries.count - unseen.count
        guard !unseen.isEmpty else { return counts }
        var remembered: [AppliedAuditEntry] = []
        let duplicates = unseen.filter { $0.isFromDeduplicator(operatorIDs: configuration.deduplicatorOperatorIDs) }
        for entry in duplicates {
            remembered.append(AppliedAuditEntry(traceID: entry.traceID, eventID: LateRejectionMatcher.entryID(entry, eventIdField: eventIdField) ?? ""))
        }
        counts.duplicatesDiscarded = duplicates.count
        let fresh = unseen.filter { !$0.isFromDeduplicator(operatorIDs: configuration.deduplicatorOperatorIDs) }
        let candidates =
            fresh.isEmpty ? [] : try await store.reconcileCandidates(LateRejectionMatcher.query(for: fresh, meter: meter, eventIdField: eventIdField))
        var rejections: [LateRejection] = []
        for (entry, outcome) in zip(fresh, LateRejectionMatcher.match(fresh, candidates: candidates, eventIdField: eventIdField)) {
            switch outcome {
            case .lateRejected(let event):
                rejections.append(LateRejection(rowID: event.rowID, reason: entry.reason, responseBody: entry.raw))
                remembered.append(AppliedAuditEntry(traceID: entry.traceID, eventID: event.eventID))
            case .alreadyDead(let event):
                counts.alreadyDead += 1
                remembered.append(AppliedAuditEntry(traceID: entry.traceID, eventID: event.eventID))
            case .unmatched:
                counts.unmatched += 1
                configuration.logger.warning(
                    "an audit trail entry matches no sent event; nothing was changed for it",
                    metadata: [
                        "meter": "\(meter)", "trace_id": "\(entry.traceID)", "error_code": "\(entry.errorCode)",
                        "operator_type": "\(entry.operatorType ?? "-")",
                    ])
                if unmatched.count < ReconcileReport.maxUnmatchedListed {
                    unmatched.append(
                        ReconcileReport.UnmatchedEntry(
                            meter: meter, traceID: entry.traceID, errorCode: entry.errorCode, errorMessage: entry.errorMessage,
                            operatorType: entry.operatorType, payload: entry.payload))
                }
            }
        }
        if !remembered.isEmpty {
            let moved = try await store.applyLateRejections(rejections, meter: meter, remember: remembered)
            counts.lateRejected = moved
            // A match that was no longer sent when applied (retried meanwhile) counts as already dead.
            counts.alreadyDead += rejections.count - moved
            lateRejections.increment(by: moved)
            if moved > 0 {
                configuration.logger.warning(
                    "events rejected by Zuora after acceptance were dead-lettered",
                    metadata: ["meter": "\(meter)", "count": .stringConvertible(moved)])
            }
        }
        return counts
    }
}
