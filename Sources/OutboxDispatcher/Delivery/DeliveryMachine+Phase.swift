import OutboxCore

extension DeliveryMachine {
    /// Where the current job stands: what the machine waits to hear.
    enum Phase: Equatable {
        case idle
        case fetchingToken([ClaimedEvent])
        /// Getting ready to send (`readyToSend`'s steps).
        case readying(Readiness)
        case buildingBody(Attempt)
        case awaitingAnswer(Attempt)
        /// After a 401: a fresh token for the one resend.
        case refreshingToken(Attempt)
        case holdingGate(GateHold)
        case settling(Settling)
        case finished
    }

    /// One (sub-)batch's request: what was sent, and under which key.
    struct Attempt: Equatable {
        /// As sent; counted once more after each request that carried them.
        var events: [ClaimedEvent]
        var token: TokenProvider.Token
        let key: String
        let trackID: String
        var slot: String?
        var body: RequestBody?
        /// When the first request left (metrics time the resend with it).
        var startedAt: ContinuousClock.Instant?
        /// Sent again after a 401 already: a second 401 is an answer.
        var resent = false
    }

    /// Why the gate is being held.
    enum GateHold: Equatable {
        case rateLimited(status: Int, hinted: Bool, events: [ClaimedEvent], record: Settlement.Record, keys: NextKey)
        case tokenUnavailable(message: String, events: [ClaimedEvent], keys: NextKey)
    }

    /// A settlement under way, and what follows it.
    struct Settling: Equatable {
        let verdict: SettleOrder.Verdict
        let result: BatchResult
        /// Logged once the store has the verdict.
        let afterward: [Effect]
    }
}
