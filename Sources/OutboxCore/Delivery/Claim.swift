/// Events of one meter taken by one claim, under one token.
package struct Claim: Sendable {
    package let token: ClaimToken
    package let meter: String
    package let events: [ClaimedEvent]
    /// How long the lease was taken for, in milliseconds.
    package let leaseMilliseconds: Int64
    /// The events may have been sent before without an answer: a claim
    /// taken over from a lapsed one, or a retry of a request that got none.
    /// Given back unsent, they must stay together (see `RetryGroup`).
    package let mayHaveBeenSent: Bool

    package init(token: ClaimToken, meter: String, events: [ClaimedEvent], leaseMilliseconds: Int64, mayHaveBeenSent: Bool = false) {
        self.token = token
        self.meter = meter
        self.events = events
        self.leaseMilliseconds = leaseMilliseconds
        self.mayHaveBeenSent = mayHaveBeenSent
    }
}
