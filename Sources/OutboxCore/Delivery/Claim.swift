/// Events of one meter taken by one claim, under one token.
public struct Claim: Sendable {
    public let token: ClaimToken
    public let meter: String
    public let events: [ClaimedEvent]
    /// How long the lease was taken for, in milliseconds.
    public let leaseMilliseconds: Int64

    public init(token: ClaimToken, meter: String, events: [ClaimedEvent], leaseMilliseconds: Int64) {
        self.token = token
        self.meter = meter
        self.events = events
        self.leaseMilliseconds = leaseMilliseconds
    }
}
