/// A range of a meter's events handed out by one claim: the meter's events
/// from `first` through `last` in its log order, under the claim's token and
/// lease while open. Each store orders its log by its own position type
/// (SQLite: the row id; PostgreSQL: the appending transaction, then the id).
public struct ClaimedRange<Position: Comparable & Sendable>: Sendable {
    public let meter: String
    public let first: Position
    public let last: Position
    /// The meter's events in `first...last`.
    public let events: Int
    /// The claim's token, while the range is open.
    public let token: String?
    /// When the lease ends (unix ms), while the range is open.
    public let leaseUntil: Int64?

    public init(meter: String, first: Position, last: Position, events: Int, token: String?, leaseUntil: Int64?) {
        self.meter = meter
        self.first = first
        self.last = last
        self.events = events
        self.token = token
        self.leaseUntil = leaseUntil
    }

    public func contains(_ position: Position) -> Bool { first <= position && position <= last }
}
