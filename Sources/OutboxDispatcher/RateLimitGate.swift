import Synchronization

/// After a 429 or 503, no usage request goes to the host until the wait it
/// asked for has passed: not just the batch that got the answer, every one.
final class RateLimitGate: Sendable {
    private let notBefore = Mutex<ContinuousClock.Instant?>(nil)
    private let waits = Atomic<Int>(0)

    /// Holds requests back until `instant` (never shortens an earlier hold).
    func hold(until instant: ContinuousClock.Instant) {
        notBefore.withLock { current in
            if current.map({ instant > $0 }) ?? true { current = instant }
        }
        waits.add(1, ordering: .relaxed)
    }

    /// Returns once requests may go; throws if the task is cancelled meanwhile.
    func waitUntilOpen() async throws {
        while let until = notBefore.withLock({ $0 }), ContinuousClock.now < until {
            try await Task.sleep(until: until, clock: .continuous)
        }
    }

    /// How many times a rate limit made the dispatcher hold back.
    var holdCount: Int { waits.load(ordering: .relaxed) }
}
