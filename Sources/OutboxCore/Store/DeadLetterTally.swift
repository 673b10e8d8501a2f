/// Dead letters of one meter that share a status and the start of a
/// reason, as a store counts them (`OutboxStore.deadLetterTallies`):
/// `DeadLetterCauses` merges them into causes.
public struct DeadLetterTally: Sendable, Equatable {
    public let status: Int?
    /// The reason, or at least its first `DeadLetterCauses.reasonCharacters`.
    public let reason: String
    public let meter: String
    public let count: Int
    /// When the oldest of them died (unix ms).
    public let oldestDeadAt: Int64

    public init(status: Int?, reason: String, meter: String, count: Int, oldestDeadAt: Int64) {
        self.status = status
        self.reason = reason
        self.meter = meter
        self.count = count
        self.oldestDeadAt = oldestDeadAt
    }
}
