/// One event handed to a dispatcher by a claim.
package struct ClaimedEvent: Sendable, Equatable {
    package let rowID: Int64
    package let eventID: String
    /// The event's JSON text, as appended.
    package let body: [UInt8]
    /// Retry attempts already spent on it (what `--max-attempts` counts:
    /// failures that were the event's own, never rate limits, "retry
    /// later" answers or bisection).
    package let attempts: Int
    /// Requests that carried it so far, whatever their answer (the count a
    /// dead letter shows): those of earlier claims, as the store kept them,
    /// plus those of this claim (`carried()`).
    package let tries: Int
    /// Drawn afresh each time Zuora answers a request that carried the
    /// event (0 until then): part of the next request's idempotency key.
    package let keySeed: Int64
    /// The idempotency key of a request that carried the event and got no
    /// answer: the events sharing it are re-sent together under it.
    package let unansweredKey: String?
    package init(rowID: Int64, eventID: String, body: [UInt8], attempts: Int, keySeed: Int64 = 0, unansweredKey: String? = nil, tries: Int = 0) {
        self.rowID = rowID
        self.eventID = eventID
        self.body = body
        self.attempts = attempts
        self.keySeed = keySeed
        self.unansweredKey = unansweredKey
        self.tries = tries
    }

    /// The same event, carried by one more request.
    package func carried() -> ClaimedEvent {
        ClaimedEvent(rowID: rowID, eventID: eventID, body: body, attempts: attempts, keySeed: keySeed, unansweredKey: unansweredKey, tries: tries + 1)
    }
}
