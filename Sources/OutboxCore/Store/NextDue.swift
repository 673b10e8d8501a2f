/// How long a dispatcher with nothing to claim may sleep: until the first
/// meter with work has something due. Both stores read each meter's due
/// times (`MeterDueTimes`) and leave the decision to `delay`.
package enum NextDue {
    /// How soon to look again at events only a running transaction holds
    /// back (PostgreSQL: they become claimable when it ends).
    package static let heldBackPollMilliseconds: Int64 = 20

    /// Milliseconds until the earliest due time (zero or less: due now);
    /// nil when no meter has anything undelivered.
    package static func delay(_ meters: [MeterDueTimes], now: Int64) -> Int64? {
        var earliest: Int64?
        for meter in meters {
            let delays: [Int64?] = [
                meter.unclaimed.delay, meter.earliestLeaseLapse.map { $0 - now }, meter.earliestRetryDue.map { $0 - now },
            ]
            for delay in delays.compactMap({ $0 }) { earliest = min(earliest ?? delay, delay) }
        }
        return earliest
    }
}
