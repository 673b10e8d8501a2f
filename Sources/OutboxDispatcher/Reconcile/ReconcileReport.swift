import AsyncHTTPClient
import Logging
import Metrics

/// What one reconcile run found, per meter and in all.
public struct ReconcileReport: Sendable, Equatable {
    public struct Counts: Sendable, Equatable {
        /// ERROR entries read from the audit trail.
        public var entries = 0
        /// Sent events moved to dead by this run.
        public var lateRejected = 0
        /// Entries whose event was a dead letter already: counted, not changed.
        public var alreadyDead = 0
        /// Entries an earlier run acted on (remembered by trace id).
        public var alreadyApplied = 0
        /// Entries that match no event of this outbox.
        public var unmatched = 0
        /// Entries from a Deduplicator: a re-sent copy was discarded because
        /// an earlier copy was billed. Its event stays sent.
        public var duplicatesDiscarded = 0
        /// The run stopped before the audit trail's last page (its page or
        /// entry cap); the next run reads on.
        public var truncated = false

        public init() {}

        static func += (lhs: inout Counts, rhs: Counts) {
            lhs.entries += rhs.entries
            lhs.lateRejected += rhs.lateRejected
            lhs.alreadyDead += rhs.alreadyDead
            lhs.alreadyApplied += rhs.alreadyApplied
            lhs.unmatched += rhs.unmatched
            lhs.duplicatesDiscarded += rhs.duplicatesDiscarded
            lhs.truncated = lhs.truncated || rhs.truncated
        }
    }

    /// An entry that matched no event, shown to the operator as it came.
    public struct UnmatchedEntry: Sendable, Equatable {
        public let meter: String
        public let traceID: String
        public let errorCode: String
        public let errorMessage: String
        public let operatorType: String?
        /// The payload as the reporting operator saw it (JSON text).
        public let payload: String
    }

    /// Most unmatched entries listed per run (all are counted).
    public static let maxUnmatchedListed = 100

    public var meters: [String: Counts] = [:]
    /// The first `maxUnmatchedListed` unmatched entries of the run.
    public var unmatchedEntries: [UnmatchedEntry] = []
    public var totals: Counts { meters.values.reduce(into: Counts()) { $0 += $1 } }

    public init() {}
}
