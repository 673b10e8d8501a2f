#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Time as the outbox and its dispatcher see it.
///
/// Two kinds of time, on purpose: what is *stored* (when an event is due,
/// when a lease ends) is wall-clock unix milliseconds, because other
/// processes read it; what a process *waits for* (a Retry-After, a backoff,
/// a run's time limit) is measured on a monotonic clock, so a step of the system
/// clock neither cuts a wait short nor stretches it.
///
/// Production code uses ``SystemClock``. Tests pass a clock they advance by
/// hand, so lease expiry and rate-limit waits run without sleeping.
public protocol OutboxClock: Sendable {
    /// Unix time in milliseconds, for timestamps written to the database.
    func wallMilliseconds() -> Int64
    /// A monotonic reading, for deadlines inside this process.
    func monotonicNow() -> ContinuousClock.Instant
    /// Returns at `deadline` (monotonic); throws when the task is cancelled.
    func sleep(until deadline: ContinuousClock.Instant) async throws
}
