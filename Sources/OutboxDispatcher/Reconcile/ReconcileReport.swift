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
            lhs.truncated = lhs.truncated || rhs.truncated
        }
    }

    public var meters: [String: Counts] = [:]
    public var totals: Counts { meters.values.reduce(into: Counts()) { $0 += $1 } }

    public init() {}
}
