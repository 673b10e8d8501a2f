/// What a dispatcher needs from a store: claim due events under a lease,
/// then apply what Zuora's answer means for them. The SQLite `Outbox` and
/// the PostgreSQL store implement it, and the dispatcher works the same on
/// both.
///
/// It is `package`: the stores and the dispatcher are its only parties, so
/// its plumbing types (claims, settlements, budgets) can change without
/// breaking an app. Apps hand the dispatcher an ``OutboxStore``.
///
/// Each claim carries its own ``ClaimToken``. `renewLease`, `settle` and
/// `release` change a row only while it still carries that token: once a
/// lease has lapsed and another dispatcher claimed the rows, the first
/// one's late writes change nothing.
///
/// Times are the store's own: leases and retry delays are durations, which
/// the store turns into due times with its clock (PostgreSQL uses the
/// server's, so hosts whose clocks disagree still agree on a lease).
package protocol DispatchStore: Sendable {
    /// Meters that have events still to deliver (pending, inflight or
    /// failed), leaving out paused meters.
    func metersWithWork() async throws -> [String]

    /// This outbox's own id, drawn once when its schema was made: the
    /// idempotency keys of two outboxes never meet, even where their row ids
    /// do.
    func outboxID() async throws -> String

    /// Claims up to `limit` due events of `meter` whose JSON array stays
    /// within `maxBytes` (always at least one event), under a new token made
    /// for `owner`, leased for `leaseMilliseconds`. Due events are pending,
    /// failed with their retry time passed, or inflight with a lapsed lease.
    /// Returns nil when nothing of the meter is due, or the meter is paused.
    /// The events come in the log's order, and a claim of the same events
    /// again (a takeover, a retry after no answer) repeats it: a request's
    /// body and idempotency key follow that order.
    func claim(meter: String, owner: String, limit: Int, maxBytes: Int, leaseMilliseconds: Int64) async throws -> Claim?

    /// Extends the lease on the rows still held by `token`; returns those rows.
    func renewLease(_ rowIDs: [Int64], token: ClaimToken, leaseMilliseconds: Int64) async throws -> Set<Int64>

    /// Applies a settlement to the rows still held by `token`, in one
    /// transaction, with the counters and the meter's last success or failure.
    func settle(_ settlement: Settlement, token: ClaimToken) async throws -> SettlementResult

    /// Gives claimed rows back, due at once, without spending an attempt
    /// (a dispatcher stopping, or dropping what it will not send).
    func release(_ rowIDs: [Int64], meter: String, token: ClaimToken) async throws -> Int

    /// Milliseconds until the earliest undelivered event is due, by the
    /// store's clock (zero or less: due now); nil when nothing is undelivered.
    func nextDueDelay() async throws -> Int64?

    /// Events still to deliver (pending, inflight or failed), leaving out
    /// paused meters' events.
    func undeliveredCount() async throws -> Int

    /// Events waiting in paused meters (pending, inflight or failed).
    func pausedCount() async throws -> Int

    /// One more request against the budgets every dispatcher of this
    /// outbox shares: admitted (recorded, and a concurrency slot taken for
    /// `holder` until `finishRequest` or `leaseMilliseconds`), or how long
    /// to wait and which budget says so.
    func admitRequest(holder: String, budget: RequestBudget, leaseMilliseconds: Int64) async throws -> RequestBudget.Admission

    /// The request `holder` was admitted for is over: its slot is free.
    func finishRequest(holder: String) async throws

    /// The budgets holding requests back now (`status`).
    func budgetHolds() async throws -> [BudgetHold]
}
