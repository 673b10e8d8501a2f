import OutboxCore
import Synchronization

/// The recorded run's dispatch store: the outbox's own, with a marker in
/// the operation log after each settlement that returned with every row
/// still held: `settled <customer> <customer> …`, for the rows it made
/// sent or dead. After a cut, those events must stay settled: the drain
/// that follows must not send them again (a settlement acknowledged, then
/// lost, would bill them twice).
final class SettlementMarkingStore: DispatchStore {
    private let store: any DispatchStore
    /// Row id → customer id, from the claims handed out.
    private let customers = Mutex<[Int64: String]>([:])

    init(_ store: any DispatchStore) {
        self.store = store
    }

    func claim(meter: String, owner: String, limit: Int, maxBytes: Int, leaseMilliseconds: Int64) async throws -> Claim? {
        let claim = try await store.claim(meter: meter, owner: owner, limit: limit, maxBytes: maxBytes, leaseMilliseconds: leaseMilliseconds)
        if let claim {
            customers.withLock { customers in
                for event in claim.events { customers[event.rowID] = CustomerID.of(String(decoding: event.body, as: UTF8.self)) }
            }
        }
        return claim
    }

    func settle(_ settlement: Settlement, token: ClaimToken) async throws -> SettlementResult {
        let result = try await store.settle(settlement, token: token)
        // Rows taken over meanwhile were left alone; which ones is not said.
        guard result.lost == 0 else { return result }
        let settled = customers.withLock { customers in
            settlement.rows.compactMap { row -> String? in
                switch row.outcome {
                case .sent, .dead: customers[row.rowID]
                case .retry: nil
                }
            }
        }
        if !settled.isEmpty { PowerCutMarks.write("settled " + settled.joined(separator: " ")) }
        return result
    }

    func metersWithWork() async throws -> [String] { try await store.metersWithWork() }
    func outboxID() async throws -> String { try await store.outboxID() }
    func renewLease(_ rowIDs: [Int64], token: ClaimToken, leaseMilliseconds: Int64) async throws -> Set<Int64> {
        try await store.renewLease(rowIDs, token: token, leaseMilliseconds: leaseMilliseconds)
    }
    func release(_ rowIDs: [Int64], meter: String, token: ClaimToken) async throws -> Int {
        try await store.release(rowIDs, meter: meter, token: token)
    }
    func nextDueDelay() async throws -> Int64? { try await store.nextDueDelay() }
    func undeliveredCount() async throws -> Int { try await store.undeliveredCount() }
    func pausedCount() async throws -> Int { try await store.pausedCount() }
    func admitRequest(holder: String, budget: RequestBudget, leaseMilliseconds: Int64) async throws -> RequestBudget.Admission {
        try await store.admitRequest(holder: holder, budget: budget, leaseMilliseconds: leaseMilliseconds)
    }
    func finishRequest(holder: String) async throws { try await store.finishRequest(holder: holder) }
    func budgetHolds() async throws -> [BudgetHold] { try await store.budgetHolds() }
}
