import Synchronization

/// What a dispatcher run did, as `drainOnce` returns it.
public struct DrainSummary: Sendable, Equatable {
    /// Events Zuora accepted in this run.
    public var sent = 0
    /// Events dead-lettered in this run.
    public var dead = 0
    /// Usage requests sent (first tries, retries and bisection halves alike;
    /// token requests are not counted).
    public var requests = 0
    /// Events still to deliver when the run ended (paused meters' left out).
    public var remaining = 0
    /// Events waiting in paused meters when the run ended: not claimed, and
    /// not counted in `remaining`.
    public var paused = 0
    /// Times a 429/503 held all requests back.
    public var rateLimitWaits = 0
    /// Tokens fetched from `/oauth/token`.
    public var tokenRefreshes = 0
    /// Transient failures (5xx, timeouts, connection errors) met.
    public var transientFailures = 0
    /// Claimed events dropped unsent because their lease had lapsed and
    /// another dispatcher took them over (after a long wait).
    public var droppedAfterLeaseLoss = 0

    public init() {}
}

/// Counters updated by concurrent workers.
final class DrainCounters: Sendable {
    private let sent = Atomic<Int>(0)
    private let dead = Atomic<Int>(0)
    private let requests = Atomic<Int>(0)
    private let transient = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)

    func addSent(_ count: Int) { sent.add(count, ordering: .relaxed) }
    func addDead(_ count: Int) { dead.add(count, ordering: .relaxed) }
    func addRequests(_ count: Int) { requests.add(count, ordering: .relaxed) }
    func addTransient(_ count: Int) { transient.add(count, ordering: .relaxed) }
    func addDropped(_ count: Int) { dropped.add(count, ordering: .relaxed) }

    func summary() -> DrainSummary {
        var summary = DrainSummary()
        summary.sent = sent.load(ordering: .relaxed)
        summary.dead = dead.load(ordering: .relaxed)
        summary.requests = requests.load(ordering: .relaxed)
        summary.transientFailures = transient.load(ordering: .relaxed)
        summary.droppedAfterLeaseLoss = dropped.load(ordering: .relaxed)
        return summary
    }
}
