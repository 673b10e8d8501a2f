import OutboxCore
import Synchronization

/// After a 429 or 503, no usage request goes to the host until the wait it
/// asked for has passed: not just the batch that got the answer, every one.
///
/// An answer without a hint (no `Retry-After`, no `ratelimit-reset`) grows
/// one host-wide streak, and the wait is drawn from the backoff for that
/// streak (full jitter, capped), so an overloaded host sees fewer and fewer
/// requests; the first success resets it.
final class RateLimitGate: Sendable {
    private struct State {
        var notBefore: ContinuousClock.Instant?
        var streak = 0
    }

    private let state = Mutex(State())
    private let waits = Atomic<Int>(0)
    private let backoff: BackoffPolicy

    init(backoff: BackoffPolicy) {
        self.backoff = backoff
    }

    /// Closes the gate after a rate-limited answer received at `now`: for
    /// `hintSeconds` when the answer said, else for the streak's backoff.
    /// Never shortens an earlier hold. Returns the wait, in seconds.
    @discardableResult
    func hold(hintSeconds: Double?, now: ContinuousClock.Instant) -> Double {
        waits.add(1, ordering: .relaxed)
        return state.withLock { state in
            let wait: Double
            if let hintSeconds {
                wait = max(0, hintSeconds)
            } else {
                state.streak += 1
                wait = backoff.delay(attempt: state.streak).seconds
            }
            let until = now.advanced(by: .milliseconds(Int64((wait * 1000).rounded(.up))))
            if state.notBefore.map({ until > $0 }) ?? true { state.notBefore = until }
            return wait
        }
    }

    /// Holds requests back for `seconds` without counting a rate limit: a
    /// success that said the quota is used up (`RateLimit-Remaining: 0`).
    func pause(seconds: Double, now: ContinuousClock.Instant) {
        let until = now.advanced(by: .milliseconds(Int64((max(0, seconds) * 1000).rounded(.up))))
        state.withLock { state in
            if state.notBefore.map({ until > $0 }) ?? true { state.notBefore = until }
        }
    }

    /// A request succeeded: the streak of unhinted rate limits is over.
    func succeeded() {
        state.withLock { $0.streak = 0 }
    }

    /// When requests may go again, or nil when they may go now.
    func closedUntil(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        state.withLock { state in
            guard let until = state.notBefore, now < until else { return nil }
            return until
        }
    }

    /// Consecutive rate limits without a hint, so far.
    var streak: Int { state.withLock { $0.streak } }

    /// How many times a rate limit made the dispatcher hold back.
    var holdCount: Int { waits.load(ordering: .relaxed) }
}
