import OutboxCore

extension DeliveryMachine {
    /// What the shell reports back: the outcome of the machine's last `Next`.
    enum Event {
        /// `fetchToken` or `fetchFreshToken`.
        case tokenObtained(TokenProvider.Token)
        case tokenFailed(TokenError)
        /// `lookAtSpentBudget`: how long until a spent shared budget frees
        /// (as last heard), or nil when none is known to be spent.
        case spentBudget(freesIn: Duration?)
        /// `waitUntilRequestCouldGo`: how the wait ended, and when.
        case requestCouldGo(WorkerPacing.GateWait, now: ContinuousClock.Instant)
        /// `renewLease`: the rows the renewal held (nil: the store could not
        /// be asked), and when it was issued (read before the call).
        case leaseRenewed(held: Set<Int64>?, issuedAt: ContinuousClock.Instant)
        /// `admitRequest`: the budget's answer, and when it came.
        case admission(SharedRequestBudget.Outcome, now: ContinuousClock.Instant)
        /// `sleep` is over.
        case slept
        /// `lookAtGate`: whether a rate limit closed the gate meanwhile.
        case gateChecked(closed: Bool)
        /// `buildBody`.
        case bodyBuilt(RequestBody)
        case bodyFailed(String)
        /// `send`: what came back, when the request left and when its slot
        /// was given back.
        case answered(SendOutcome, sentAt: ContinuousClock.Instant, answeredAt: ContinuousClock.Instant)
        /// `holdGate`: how long the gate holds, and the host-wide streak of
        /// unhinted rate limits after it.
        case gateHeld(waitSeconds: Double, streak: Int)
        /// `settle`: what the store did, nil when it could not be asked.
        case settled(SettlementResult?)
    }
}
