import Synchronization

/// A value behind a lock that tests can wait on: after each use of the
/// lock, the waiters whose condition now holds are resumed. A test waits for
/// what it needs ("the mock accepted 300 events") as an event, instead of
/// polling the value every few milliseconds.
package final class ObservedLock<Value: ~Copyable>: Sendable {
    private struct Waiter {
        let condition: @Sendable (borrowing Value) -> Bool
        let continuation: CheckedContinuation<Bool, Never>
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

    /// Returns true once `condition` holds, or false after `timeout`.
    package func waitUntil(timeout: Duration, _ condition: @escaping @Sendable (borrowing Value) -> Bool) async -> Bool {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resume(id, with: false)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            waiters.withLock { waiters in
                waiters[id] = Waiter(condition: condition, continuation: continuation)
                waiting.add(1, ordering: .releasing)
            }
            // It may hold already, with no change to come.
            wakeSatisfied()
        }
    }

    private func wakeSatisfied() {
        let candidates = waiters.withLock { $0.map { ($0.key, $0.value.condition) } }
        for (id, condition) in candidates where value.withLock({ condition($0) }) {
            resume(id, with: true)
        }
    }

    private func resume(_ id: UInt64, with outcome: Bool) {
        let waiter = waiters.withLock { waiters -> Waiter? in
            guard let waiter = waiters.removeValue(forKey: id) else { return nil }
            waiting.subtract(1, ordering: .releasing)
            return waiter
        }
        waiter?.continuation.resume(returning: outcome)
    }
}
