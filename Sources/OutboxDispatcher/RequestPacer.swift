import Synchronization

/// `maxRequestsPerMinute` for a whole dispatcher: every usage request
/// of every worker (retries and bisection halves alike) takes a slot of one
/// shared `RequestWindow` before it goes.
final class RequestPacer: Sendable {
    private let window: Mutex<RequestWindow>

    init(limit: Int) {
        window = Mutex(RequestWindow(limit: limit))
    }

    /// When a slot is free (nil: now), taking nothing.
    func nextFree(at now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        window.withLock { $0.nextFree(at: now) }
    }

    /// Takes a slot at `now` (nil), or says when one frees (taking nothing).
    func reserve(at now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        window.withLock { $0.reserve(at: now) }
    }
}
