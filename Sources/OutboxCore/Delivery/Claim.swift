/// Events of one meter taken by one claim, under one token.
public struct Claim: Sendable {
    public let token: ClaimToken
    public let meter: String
    public let events: [ClaimedEvent]
    /// How long the lease was taken for, in milliseconds.
    public let leaseMilliseconds: Int64
    /// The events may have been sent before without an answer: a claim
    /// taken over from a lapsed one, or a retry of a request that got none.
    /// Given back unsent, they must stay together (see `RetryGroup`).
    public let mayHaveBeenSent: Bool

    public init(token: ClaimToken, meter: String, events: [ClaimedEvent], leaseMilliseconds: Int64, mayHaveBeenSent: Bool = false) {
        self.token = token
        self.meter = meter
        self.events = events
        self.leaseMilliseconds = leaseMilliseconds
        self.mayHaveBeenSent = mayHaveBeenSent
    }
}
