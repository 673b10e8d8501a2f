/// Lets the writer wait, briefly, for concurrent writers to queue up, and be
/// woken the moment enough have (a polling sleep would oversleep: the
/// kernel's timer slack alone is 50 µs).
final class GatherSignal: Sendable {
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private nonisolated(unsafe) var queued = 0
    private nonisolated(unsafe) var target = Int.max

    /// A writer queued a unit; `count` units are now waiting.
    func queued(_ count: Int) {
        lock.withLock {
            queued = count
            if count >= target { lock.broadcast() }
        }
    }

    /// Waits until `target` units are queued or `deadline` passes; true when
    /// the target was reached.
    func wait(forQueued target: Int, current: Int, until deadline: ContinuousClock.Instant) -> Bool {
        lock.withLock {
            queued = max(queued, current)
            guard queued < target else { return true }
            self.target = target
            defer { self.target = Int.max }
            while queued < self.target {
                if !lock.wait(until: deadline) { return queued >= self.target }
            }
            return true
        }
    }

    /// The writer took the queue.
    func drained() {
        lock.withLock { queued = 0 }
    }
}
