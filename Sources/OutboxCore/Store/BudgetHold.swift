/// A shared request budget that held requests back (`outbox status`): its
/// name (`per-minute`, `per-hour`, `per-day`, `concurrency`) and until when.
package struct BudgetHold: Sendable, Equatable {
    package let budget: String
    /// Unix ms, the store's clock.
    package let until: Int64

    package init(budget: String, until: Int64) {
        self.budget = budget
        self.until = until
    }
}
