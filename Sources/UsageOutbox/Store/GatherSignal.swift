#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lets the writer wait, briefly, for concurrent writers to queue up, and be
/// woken the moment enough have (a polling sleep would oversleep: the
/// kernel's timer slack alone is 50 µs).
final class GatherSignal: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var queued = 0
    private var target = Int.max

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// A writer queued a unit; `count` units are now waiting.
    func queued(_ count: Int) {
        pthread_mutex_lock(mutex)
        queued = count
        if count >= target { pthread_cond_signal(condition) }
        pthread_mutex_unlock(mutex)
    }

    /// A moment `microseconds` from now, for `wait(forQueued:current:until:)`.
    static func deadline(microsecondsFromNow microseconds: Int) -> timespec {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        deadline.tv_nsec += microseconds * 1000
        if deadline.tv_nsec >= 1_000_000_000 {
            deadline.tv_sec += deadline.tv_nsec / 1_000_000_000
            deadline.tv_nsec %= 1_000_000_000
        }
        return deadline
    }

    /// Waits until `target` units are queued or `deadline` passes; true when
    /// the target was reached.
    func wait(forQueued target: Int, current: Int, until deadline: timespec) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        queued = max(queued, current)
        guard queued < target else { return true }
        self.target = target
        defer { self.target = Int.max }
        var deadline = deadline
        while queued < self.target {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { return queued >= self.target }
        }
        return true
    }

    /// The writer took the queue.
    func drained() {
        pthread_mutex_lock(mutex)
        queued = 0
        pthread_mutex_unlock(mutex)
    }
}
