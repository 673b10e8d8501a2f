/// A range of a meter's events handed out by one claim: the meter's events
/// from `first` through `last` in its log order, under the claim's token and
/// lease while open. Each store orders its log by its own position type
/// (SQLite: the row id; PostgreSQL: the appending transaction, then the id).
package struct ClaimedRange<Position: Comparable & Sendable>: Sendable {
    package let meter: String
    package let first: Position
    package let last: Position
    /// The meter's events in `first...last`.
    package let events: Int
    /// The claim's token, while the range is open.
    package let token: String?
    /// When the lease ends (unix ms), while the range is open.
    package let leaseUntil: Int64?

    package init(meter: String, first: Position, last: Position, events: Int, token: String?, leaseUntil: Int64?) {
        self.meter = meter
        self.first = first
        self.last = last
        self.events = events
        self.token = token
        self.leaseUntil = leaseUntil
    }

    package func contains(_ position: Position) -> Bool { first <= position && position <= last }
}
