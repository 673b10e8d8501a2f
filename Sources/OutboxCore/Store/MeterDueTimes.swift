/// One meter's due times, as its store reads them.
package struct MeterDueTimes: Sendable, Equatable {
    /// Events past the meter's position (not claimed yet).
    package enum Unclaimed: Sendable, Equatable {
        case none
        /// Claimable now.
        case ready
        /// Held back by a transaction still running.
        case heldBack

        var delay: Int64? {
            switch self {
            case .none: nil
            case .ready: 0
            case .heldBack: NextDue.heldBackPollMilliseconds
            }
        }
    }

    package var unclaimed: Unclaimed
    /// When the earliest lease on an unsettled range lapses (unix ms).
    package var earliestLeaseLapse: Int64?
    /// When the earliest retry row falls due (unix ms).
    package var earliestRetryDue: Int64?

    package init(unclaimed: Unclaimed, earliestLeaseLapse: Int64?, earliestRetryDue: Int64?) {
        self.unclaimed = unclaimed
        self.earliestLeaseLapse = earliestLeaseLapse
        self.earliestRetryDue = earliestRetryDue
    }
}
