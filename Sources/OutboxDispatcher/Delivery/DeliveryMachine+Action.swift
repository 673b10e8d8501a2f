import OutboxCore

extension DeliveryMachine {
    /// What the shell does next: every effect in order, then `next`, whose
    /// outcome it reports back as one `Event` (none for `finished`).
    struct Action: Equatable {
        var effects: [Effect]
        var next: Next
    }

    /// Done by the shell without reporting back.
    enum Effect: Equatable {
        case log(LogLine)
        case count(DrainTally)
        /// One request answered (or not: `status` nil), for the metrics.
        case recordRequest(status: Int?, events: Int, duration: Duration)
        case countRateLimitWait
        /// A settlement's result, into the drain's counters and the metrics.
        case tally(SettlementResult)
        /// A success ends the host-wide streak of unhinted rate limits.
        case gateSucceeded
        /// The tenant's quota is spent: no request for this long.
        case pauseGate(seconds: Double)
        case resetMeterBackoff
        /// Give a concurrency slot back (the request it was for is not sent,
        /// or is over).
        case finishSlot(String?)
        /// Give rows back to the store unsent, due at once.
        case release(rowIDs: [Int64])
    }

    /// Done by the shell, which reports the outcome back.
    enum Next: Equatable {
        case fetchToken
        /// Zuora answered 401 with this token: drop it and fetch another.
        case fetchFreshToken(rejected: TokenProvider.Token)
        case lookAtSpentBudget
        /// Wait at the rate-limit gate and for any spent shared budget.
        case waitUntilRequestCouldGo
        case renewLease(rowIDs: [Int64])
        case admitRequest
        case sleep(Duration)
        case lookAtGate
        case buildBody([ClaimedEvent])
        case send(Send)
        /// Close the gate after a rate limit (or a token endpoint that
        /// cannot answer): for the hint, else the host-wide backoff.
        case holdGate(hintSeconds: Double?)
        case settle(SettleOrder)
        /// Every event of the claim is settled, released or given up on.
        case finished
    }

    /// One usage request, and the slot to give back once it is answered.
    struct Send: Equatable {
        let body: RequestBody
        let trackID: String
        /// Nil when idempotency keys are off.
        let idempotencyKey: String?
        let token: TokenProvider.Token
        let slot: String?
    }

    /// A verdict for `events`, for the shell to plan and apply, fenced by
    /// the claim's token.
    struct SettleOrder: Equatable {
        let verdict: Verdict
        let events: [ClaimedEvent]
        let record: Settlement.Record
        let keys: NextKey

        enum Verdict: Equatable {
            case batch(BatchVerdict)
            /// Not the events' fault (a configuration problem, "retry
            /// later"): deferred by the meter's backoff, which the shell
            /// keeps (every worker shares it) and draws (at random).
            case deferredByMeterBackoff(reason: String)
        }
    }
}

/// The drain's counters an effect moves.
enum DrainTally: Equatable {
    case requests(Int)
    case transient(Int)
    case dropped(Int)
}
