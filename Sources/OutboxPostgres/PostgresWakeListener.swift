import Logging
import OutboxCore
import PostgresNIO
import Synchronization

/// Wakes the in-process dispatcher after appends made inside a caller's own
/// transaction (`append(…, on: connection)`). Such an append cannot see its
/// caller's commit, so it sends `NOTIFY` in that transaction instead, and
/// PostgreSQL delivers the notification only when the transaction commits
/// (never when it rolls back). This listener holds one pooled connection in
/// `LISTEN` and turns each notification into an `AppendSignal` wake-up.
///
/// It starts with the first `appendNotifications()` (an outbox that only
/// appends holds no connection for it), and reconnects after a failure. A
/// notification sent while it reconnects is missed; the dispatcher's poll
/// finds those events.
final class PostgresWakeListener: Sendable {
    /// One channel per database: an outbox's tables are the database's.
    static let channel = "outbox_appended"
    static let notifyStatement: PostgresQuery = "NOTIFY outbox_appended"
    /// Waits between attempts to listen again: doubling, at most 30 s.
    private static let firstReconnectDelay: Duration = .seconds(1)
    private static let longestReconnectDelay: Duration = .seconds(30)

    private let client: PostgresClient
    private let signal: AppendSignal
    private let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let stopped = Mutex(false)
    /// Times `LISTEN` took effect; tests wait for it before they append.
    private let listens = Mutex<(count: Int, waiters: [CheckedContinuation<Void, Never>])>((0, []))

    init(client: PostgresClient, signal: AppendSignal, logger: Logger) {
        self.client = client
        self.signal = signal
        self.logger = logger
    }

    /// Starts listening unless already started or stopped.
    func start() {
        task.withLock { task in
            guard task == nil, !stopped.withLock({ $0 }) else { return }
            task = Task { await self.run() }
        }
    }

    func stop() async {
        stopped.withLock { $0 = true }
        let running = task.withLock { $0 }
        running?.cancel()
        await running?.value
        resumeWaiters()
    }

    /// Returns once `LISTEN` is in effect (or the listener stopped).
    func listening() async {
        await withCheckedContinuation { continuation in
            let ready = listens.withLock { state in
                if state.count > 0 || stopped.withLock({ $0 }) { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private func run() async {
        var delay = Self.firstReconnectDelay
        var outageReported = false
        while !Task.isCancelled {
            var listenedThisTime = false
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        listenedThisTime = true
                        self.listened()
                        for try await _ in notifications { self.signal.notify() }
                    }
                }
            } catch {
                if Task.isCancelled { break }
                // Once per outage, not once per attempt.
                if listenedThisTime { outageReported = false }
                if !outageReported {
                    outageReported = true
                    logger.warning(
                        "cannot listen for appends made in callers' transactions; the dispatcher polls until this is back",
                        metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            delay = listenedThisTime ? Self.firstReconnectDelay : min(delay * 2, Self.longestReconnectDelay)
            try? await Task.sleep(for: delay)
        }
    }

    private func listened() {
        let waiters = listens.withLock { state in
            state.count += 1
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func resumeWaiters() {
        let waiters = listens.withLock { state in
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
