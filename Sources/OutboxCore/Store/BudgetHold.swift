/// A shared request budget that held requests back (`outbox status`): its
/// name (`per-minute`, `per-hour`, `per-day`, `concurrency`) and until when.
public struct BudgetHold: Sendable, Equatable {
    public let budget: String
    /// Unix ms, the store's clock.
    public let until: Int64

    public init(budget: String, until: Int64) {
        self.budget = budget
        self.until = until
    }
}
