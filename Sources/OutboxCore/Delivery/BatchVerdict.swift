/// What Zuora's answer (or its absence) means for a whole batch, as the
/// dispatcher decided it. ``Settlement/plan(_:events:meter:policy:record:keys:random:)``
/// turns it into one outcome per event.
package enum BatchVerdict: Sendable, Equatable {
    /// Zuora accepted every event.
    case accepted
    /// Zuora rejected these events for good (a 400 or a 413 on a single
    /// event): they become dead letters with this reason.
    case rejected(reason: String)
    /// A transient failure (5xx, timeout, connection error): each event
    /// spends an attempt and is retried after a backoff, or given up on when
    /// the policy's attempts run out.
    case failed(reason: String)
    /// Not the events' fault (a rate limit, a configuration problem): retried
    /// after `delayMilliseconds`, spending no attempt, never dead-lettered.
    case deferred(reason: String, delayMilliseconds: Int64)
}
