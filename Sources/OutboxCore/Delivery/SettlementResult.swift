/// What a store did with a settlement.
package struct SettlementResult: Sendable, Equatable {
    package var sent = 0
    package var retried = 0
    package var dead = 0
    /// Rows no longer held by the claim (taken over after the lease lapsed):
    /// left as their new owner has them.
    package var lost = 0

    package init(sent: Int = 0, retried: Int = 0, dead: Int = 0, lost: Int = 0) {
        self.sent = sent
        self.retried = retried
        self.dead = dead
        self.lost = lost
    }

    /// Tallies the states the applied rows moved to; `planned` rows in all.
    package init(appliedStates: some Sequence<EventState>, planned: Int) {
        var applied = 0
        for state in appliedStates {
            applied += 1
            switch state {
            case .sent: sent += 1
            case .failed: retried += 1
            case .dead: dead += 1
            case .pending, .inflight: break
            }
        }
        lost = planned - applied
    }

    /// Two parts' results together.
    package static func + (lhs: SettlementResult, rhs: SettlementResult) -> SettlementResult {
        SettlementResult(sent: lhs.sent + rhs.sent, retried: lhs.retried + rhs.retried, dead: lhs.dead + rhs.dead, lost: lhs.lost + rhs.lost)
    }
}
