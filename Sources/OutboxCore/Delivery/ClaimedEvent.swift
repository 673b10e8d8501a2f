/// One event handed to a dispatcher by a claim.
public struct ClaimedEvent: Sendable, Equatable {
    public let rowID: Int64
    public let eventID: String
    /// The event's JSON text, as appended.
    public let body: [UInt8]
    /// Retry attempts already spent on it.
    public let attempts: Int

    public init(rowID: Int64, eventID: String, body: [UInt8], attempts: Int) {
        self.rowID = rowID
        self.eventID = eventID
        self.body = body
        self.attempts = attempts
    }
}
