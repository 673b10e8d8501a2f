import Synchronization

/// A value behind a lock that tests can wait on: after each use of the
/// lock, the waiters whose condition now holds are resumed. A test waits for
/// what it needs ("the mock accepted 300 events") as an event, instead of
/// polling the value every few milliseconds.
package final class ObservedLock<Value>: Sendable {
    private struct Waiter {
        /// Reads what the waiter needs under the lock, and judges it outside
        /// (a condition may take other locks, even this one).
        let isSatisfied: @Sendable () -> Bool
        let continuation: CheckedContinuation<Bool, Never>
        var timer: Task<Void, Never>?
    }

    private let value: Mutex<Value>
    private let waiters = Mutex<[UInt64: Waiter]>([:])
    /// How many waiters there are: a use of the lock with none costs one load.
    private let waiting = Atomic<Int>(0)
    private let nextID = Atomic<UInt64>(0)

    package init(_ value: consuming sending Value) {
        self.value = Mutex(value)
    }

    package func withLock<Result: Sendable>(_ body: (inout sending Value) -> sending Result) -> Result {
        let result = value.withLock(body)
        if waiting.load(ordering: .acquiring) > 0 { wakeSatisfied() }
        return result
    }

    /// Returns true once `condition` holds for what `observe` reads, or
    /// false after `timeout` or when the waiting task is cancelled.
    package func waitUntil<Observed: Sendable>(
        timeout: Duration, observe: @escaping @Sendable (borrowing Value) -> Observed, _ condition: @escaping @Sendable (Observed) -> Bool
    ) async -> Bool {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let isSatisfied: @Sendable () -> Bool = { [weak self] in
            guard let self else { return false }
            return condition(self.value.withLock { observe($0) })
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiters.withLock { waiters in
                    waiters[id] = Waiter(isSatisfied: isSatisfied, continuation: continuation)
                    waiting.add(1, ordering: .releasing)
                }
                // Registered first, so the timer always finds it (or finds it
                // already resumed).
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    self.resume(id, with: false)
                }
                let stored = waiters.withLock { waiters -> Bool in
                    guard waiters[id] != nil else { return false }
                    waiters[id]?.timer = timer
                    return true
                }
                if !stored { timer.cancel() }
                // It may hold already, with no change to come.
                wakeSatisfied()
            }
        } onCancel: {
            resume(id, with: false)
        }
    }

    private func wakeSatisfied() {
        let candidates = waiters.withLock { $0.map { ($0.key, $0.value.isSatisfied) } }
        for (id, isSatisfied) in candidates where isSatisfied() {
            resume(id, with: true)
        }
    }

    /// Resumes the waiter once: whoever removes it from the table resumes it.
    private func resume(_ id: UInt64, with outcome: Bool) {
        let waiter = waiters.withLock { waiters -> Waiter? in
            guard let waiter = waiters.removeValue(forKey: id) else { return nil }
            waiting.subtract(1, ordering: .releasing)
            return waiter
        }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(returning: outcome)
    }
}
