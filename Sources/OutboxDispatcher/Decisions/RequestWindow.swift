/// At most `limit` requests in any 60-second window: the times of the last
/// `limit` requests, and when the next may go. Pure; the caller holds the
/// lock and the clock.
public struct RequestWindow: Sendable {
    public static let length = Duration.seconds(60)

    public let limit: Int
    /// Start times of the most recent requests, oldest first (at most `limit`).
    private var recent: [ContinuousClock.Instant] = []
    private var oldest = 0

    public init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
        recent.reserveCapacity(min(limit, 4096))
    }

    /// When a slot is free (nil: now), without taking it: a worker waits
    /// for this before it claims, so it does not hold a claim through the
    /// window's wait.
    public func nextFree(at now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard recent.count == limit else { return nil }
        let frees = recent[oldest] + RequestWindow.length
        return now < frees ? frees : nil
    }

    /// Takes a slot for a request starting at `now`, and returns nil; or,
    /// when the window is full, takes nothing and returns when a slot frees.
    public mutating func reserve(at now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        if recent.count < limit {
            recent.append(now)
            return nil
        }
        // A ring: `oldest` is the slot that frees first.
        let frees = recent[oldest] + RequestWindow.length
        if now < frees { return frees }
        recent[oldest] = now
        oldest = (oldest + 1) % limit
        return nil
    }
}
